import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRequestBody } from "./build-request.js";
import { NetworkError } from "./errors/network-error.js";
import { sendInterceptorRequest } from "./send-request.js";
import { type EchoIngress, startEchoIngress, testSecret } from "./testing/echo-ingress.js";

const secret = testSecret();
let ingress: EchoIngress;

beforeAll(async () => {
  ingress = await startEchoIngress({ secret });
});
afterAll(async () => {
  await ingress.close();
});

/** A port on which nothing listens: bind one, then free it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("sendInterceptorRequest", () => {
  it("posts a correctly signed body to the trigger's route and returns the answer and latency", async () => {
    const body = buildRequestBody("PRE_SIGNUP", { email: "jane@example.com" });
    const result = await sendInterceptorRequest({ url: ingress.url, secret, trigger: "PRE_SIGNUP", body });

    const seen = ingress.seen.at(-1);
    expect(seen?.method).toBe("POST");
    expect(seen?.path).toBe("/auth/interceptors/pre-signup");
    expect(seen?.signatureValid).toBe(true);
    expect(seen?.headers["content-type"]).toBe("application/json");
    expect(seen?.body.toString("utf8")).toBe(result.request.body);
    expect(JSON.parse(seen?.body.toString("utf8") ?? "")).toMatchObject({
      gatehouse_test: true,
      interceptor_context: { user_email: "jane@example.com" },
    });

    expect(result.status).toBe(200);
    expect(result.answer).toEqual({ decision: "ALLOW", echo: { path: "/auth/interceptors/pre-signup" } });
    expect(result.valid).toBe(true);
    expect(result.decision).toBe("ALLOW");
    expect(result.latencyMs).toBeGreaterThan(0);
    expect(result.latencyMs).toBeLessThan(5_000);
  });

  it("sends POST_USER_AUTHENTICATION to the generic route", async () => {
    const body = buildRequestBody("POST_USER_AUTHENTICATION");
    const result = await sendInterceptorRequest({
      url: ingress.url,
      secret,
      trigger: "POST_USER_AUTHENTICATION",
      body,
    });
    expect(ingress.seen.at(-1)?.path).toBe("/auth/interceptors");
    expect(result.decision).toBe("ALLOW");
  });

  it("tamper: the body the server receives no longer matches its signature", async () => {
    const body = buildRequestBody("PRE_USER_INVITATION");
    const result = await sendInterceptorRequest({
      url: ingress.url,
      secret,
      trigger: "PRE_USER_INVITATION",
      body,
      tamper: true,
    });
    const seen = ingress.seen.at(-1);
    expect(seen?.signatureValid).toBe(false);
    expect(seen?.body.toString("utf8")).not.toBe(JSON.stringify(body));
    expect(result.decision).toBe("DENY");
    expect(result.answer).toEqual({ decision: "DENY", error: { message: "bad signature" } });
  });

  it("stale: correctly signed, with a timestamp about 600 s old", async () => {
    const body = buildRequestBody("PRE_M2M_TOKEN_CREATION");
    const result = await sendInterceptorRequest({
      url: ingress.url,
      secret,
      trigger: "PRE_M2M_TOKEN_CREATION",
      body,
      stale: true,
    });
    const seen = ingress.seen.at(-1);
    expect(seen?.signatureValid).toBe(true);
    expect(seen?.ageSeconds).toBeGreaterThanOrEqual(600);
    expect(seen?.ageSeconds).toBeLessThanOrEqual(602);
    expect(result.decision).toBe("DENY");
  });

  it("returns an answer that is not JSON as a result, marked invalid", async () => {
    const broken = await startEchoIngress({ secret, rawReply: "<html>oops</html>" });
    try {
      const result = await sendInterceptorRequest({
        url: broken.url,
        secret,
        trigger: "PRE_SIGNUP",
        body: buildRequestBody("PRE_SIGNUP"),
      });
      expect(result).toMatchObject({ status: 200, answerText: "<html>oops</html>", valid: false });
      expect(result.answer).toBeUndefined();
      expect(result.decision).toBeUndefined();
    } finally {
      await broken.close();
    }
  });

  it("throws a NetworkError naming the URL when nothing listens", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const sending = sendInterceptorRequest({
      url,
      secret,
      trigger: "PRE_SIGNUP",
      body: buildRequestBody("PRE_SIGNUP"),
    });
    await expect(sending).rejects.toBeInstanceOf(NetworkError);
    await expect(sending).rejects.toThrow(
      `could not reach ${url}/auth/interceptors/pre-signup: connect ECONNREFUSED`,
    );
  });

  it("gives up after the timeout", async () => {
    const slow = await startEchoIngress({ secret, delayMs: 2_000 });
    try {
      const sending = sendInterceptorRequest({
        url: slow.url,
        secret,
        trigger: "PRE_SIGNUP",
        body: buildRequestBody("PRE_SIGNUP"),
        timeoutMs: 100,
      });
      await expect(sending).rejects.toThrow(/could not reach .*: no answer within 100 ms/);
    } finally {
      await slow.close();
    }
  });
});
