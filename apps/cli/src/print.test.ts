import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildRequestBody } from "./build-request.js";
import { formatCurl, formatRequest, shellQuote } from "./print.js";
import { prepareSignedRequest } from "./signed-request.js";
import { testSecret } from "./testing/echo-ingress.js";

const run = promisify(execFile);

/** Lets a real shell read the text, with `curl` replaced by a function that prints its arguments. */
async function shellWords(commandLine: string): Promise<string[]> {
  const script = `curl() { for a in "$@"; do printf '%s\\0' "$a"; done; }\n${commandLine}`;
  const { stdout } = await run("sh", ["-c", script]);
  return stdout.split("\0").slice(0, -1);
}

describe("shellQuote", () => {
  it.each([
    "plain",
    "http://127.0.0.1:8080/auth/interceptors/pre-signup",
    "with space",
    "it's",
    "'''",
    '{"a":"$HOME `id` \\n !x"}',
    "jürgen@bücher.de",
    "",
    "line\nbreak",
  ])("round-trips %j through a real shell", async (word) => {
    expect(await shellWords(`curl ${shellQuote(word)}`)).toEqual([word]);
  });
});

describe("formatCurl", () => {
  it("prints a command line whose body and headers reach curl unchanged", async () => {
    const body = buildRequestBody("PRE_SIGNUP", { email: "o'brien@example.com" });
    const request = prepareSignedRequest({
      url: "http://127.0.0.1:8080",
      secret: testSecret(),
      trigger: "PRE_SIGNUP",
      body,
    });
    const words = await shellWords(formatCurl(request));
    expect(words).toEqual([
      "-sS",
      "-X",
      "POST",
      "http://127.0.0.1:8080/auth/interceptors/pre-signup",
      "-H",
      "content-type: application/json",
      "-H",
      `interceptor-id: ${request.headers["interceptor-id"]}`,
      "-H",
      `interceptor-timestamp: ${request.headers["interceptor-timestamp"]}`,
      "-H",
      `interceptor-signature: ${request.headers["interceptor-signature"]}`,
      "--data-binary",
      request.body,
    ]);
  });
});

describe("formatRequest", () => {
  it("shows the method, URL, headers, notes for tamper and stale, and the body", () => {
    const request = prepareSignedRequest({
      url: "http://127.0.0.1:8080",
      secret: testSecret(),
      trigger: "PRE_M2M_TOKEN_CREATION",
      body: buildRequestBody("PRE_M2M_TOKEN_CREATION", { client: "m2m_x" }),
      tamper: true,
      stale: true,
    });
    const text = formatRequest(request);
    expect(text).toContain("POST http://127.0.0.1:8080/auth/interceptors/pre-m2m-token-creation");
    expect(text).toContain(`interceptor-signature: ${request.headers["interceptor-signature"]}`);
    expect(text).toMatch(/timestamp 60\d s old \(--stale\)/);
    expect(text).toContain("after signing (--tamper)");
    expect(text).toContain('"client_id": "m2m_x"');
  });
});
