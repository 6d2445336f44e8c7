import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_NETWORK, EXIT_OK, EXIT_USAGE } from "./cli.js";
import type { CliEnv } from "./env.js";
import { type EchoIngress, startEchoIngress, testSecret } from "./testing/echo-ingress.js";
import { runCliCollecting, testEnv } from "./testing/run-cli.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const exec = promisify(execFile);
const secret = testSecret();
let ingress: EchoIngress;
let env: CliEnv;

beforeAll(async () => {
  ingress = await startEchoIngress({ secret });
  env = testEnv({ defaultUrl: ingress.url, secrets: [secret] });
});
afterAll(async () => {
  await ingress.close();
});

const cli = (argv: string[], withEnv: CliEnv = env) => runCliCollecting(argv, withEnv);

describe("gatehouse help", () => {
  it.each([[[]], [["help"]], [["--help"]], [["-h"]], [["send", "--help"]], [["sign", "-h"]]])(
    "prints the usage for %j",
    async (argv) => {
      const { code, stdout } = await cli(argv);
      expect(code).toBe(EXIT_OK);
      expect(stdout).toContain("gatehouse send <trigger> [flags]");
      expect(stdout).toContain("--tamper");
    },
  );
});

describe("gatehouse send", () => {
  it("prints the request, the answer and the latency", async () => {
    const { code, stdout, stderr } = await cli([
      "send",
      "pre-signup",
      "--email",
      "jane@example.com",
      "--ip",
      "::1",
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(EXIT_OK);
    expect(stdout).toContain(`POST ${ingress.url}/auth/interceptors/pre-signup`);
    expect(stdout).toMatch(/^interceptor-signature: v1,/m);
    expect(stdout).toContain('"user_email": "jane@example.com"');
    expect(stdout).toContain('"gatehouse_test": true');
    expect(stdout).toMatch(/^HTTP 200 {2}ALLOW {2}\d+\.\d ms$/m);
    expect(stdout).toContain('"decision": "ALLOW"');
    expect(ingress.seen.at(-1)?.signatureValid).toBe(true);
  });

  it("--json prints one object with the request, status, answer and latency", async () => {
    const { code, stdout } = await cli([
      "send",
      "PRE_SESSION_CREATION",
      "--user",
      "usr_9",
      "--org",
      "org_9",
      "--json",
    ]);
    expect(code).toBe(EXIT_OK);
    const output = JSON.parse(stdout);
    expect(output).toMatchObject({
      status: 200,
      decision: "ALLOW",
      valid: true,
      answer: { decision: "ALLOW" },
    });
    expect(output.latencyMs).toBeTypeOf("number");
    expect(output.request.url).toBe(`${ingress.url}/auth/interceptors/pre-session-creation`);
    expect(JSON.parse(output.request.body).interceptor_context).toMatchObject({
      user_id: "usr_9",
      organization_id: "org_9",
    });
  });

  it("exits 0 on a DENY: --tamper and --stale reach the server and are refused", async () => {
    const tampered = await cli(["send", "pre-user-invitation", "--tamper", "--json"]);
    expect(tampered.code).toBe(EXIT_OK);
    expect(JSON.parse(tampered.stdout)).toMatchObject({
      decision: "DENY",
      request: { tampered: { offset: 17 } },
    });
    expect(ingress.seen.at(-1)?.signatureValid).toBe(false);

    const stale = await cli(["send", "pre-m2m-token-creation", "--client", "m2m_x", "--stale"]);
    expect(stale.code).toBe(EXIT_OK);
    expect(stale.stdout).toMatch(/timestamp 60\d s old \(--stale\)/);
    expect(stale.stdout).toMatch(/^HTTP 200 {2}DENY/m);
    expect(ingress.seen.at(-1)?.ageSeconds).toBeGreaterThanOrEqual(600);
  });

  it("--secret overrides the environment, and takes the first of a list", async () => {
    const other = testSecret();
    await cli(["send", "pre-signup", "--secret", `${other},${secret}`]);
    expect(ingress.seen.at(-1)?.signatureValid).toBe(false);
    await cli(["send", "pre-signup", "--secret", `${secret},${other}`]);
    expect(ingress.seen.at(-1)?.signatureValid).toBe(true);
  });

  it("--body starts from a file and takes the trigger from it", async () => {
    const file = join(tmpdir(), `gatehouse-body-${process.pid}.json`);
    writeFileSync(
      file,
      JSON.stringify({ trigger_point: "PRE_SIGNUP", interceptor_context: { user_email: "f@g.hi" } }),
    );
    const { code, stdout } = await cli(["send", "--body", file, "--ip", "10.0.0.1", "--json"]);
    expect(code).toBe(EXIT_OK);
    const sent = JSON.parse(JSON.parse(stdout).request.body);
    expect(sent).toMatchObject({
      trigger_point: "PRE_SIGNUP",
      gatehouse_test: true,
      interceptor_context: { user_email: "f@g.hi", ip_address: "10.0.0.1" },
    });
    expect(ingress.seen.at(-1)?.path).toBe("/auth/interceptors/pre-signup");
  });

  it("exits 1 with a clear message when nothing answers", async () => {
    const { code, stdout, stderr } = await cli([
      "send",
      "pre-signup",
      "--url",
      "http://127.0.0.1:9",
      "--json",
    ]);
    expect(code).toBe(EXIT_NETWORK);
    expect(stdout).toBe("");
    expect(stderr).toMatch(
      /^gatehouse: could not reach http:\/\/127\.0\.0\.1:9\/auth\/interceptors\/pre-signup: /,
    );
  });

  it.each([
    [["send", "pre-signup", "--bogus"], "--bogus"],
    [["send", "pre-signup", "--email"], "--email"],
    [["send", "pre-signup", "--url", "localhost:8080"], "--url"],
    [["send", "pre-signup", "--timeout", "soon"], "--timeout"],
    [["send", "pre-signup", "--secret", "whsec_not base64!"], "--secret"],
    [["send", "pre-signup", "--body", "/nonexistent/body.json"], "--body"],
    [["send", "pre-logout"], 'unknown trigger "pre-logout"'],
    [["send"], "missing <trigger>"],
    [["send", "pre-signup", "extra"], 'unexpected argument "extra"'],
    [["deploy"], 'unknown command "deploy"'],
  ])("exits 2 for %j, naming %s", async (argv, named) => {
    const { code, stdout, stderr } = await cli(argv);
    expect(code).toBe(EXIT_USAGE);
    expect(stdout).toBe("");
    expect(stderr).toContain(named);
    expect(stderr).toContain('Run "gatehouse help" for usage.');
  });

  it("exits 2 without a secret, naming both ways to give one", async () => {
    const { code, stderr } = await cli(["send", "pre-signup"], { ...env, secrets: [] });
    expect(code).toBe(EXIT_USAGE);
    expect(stderr).toContain("--secret");
    expect(stderr).toContain("SCALEKIT_INTERCEPTOR_SECRET");
  });
});

describe("gatehouse sign", () => {
  it("prints a curl command line and sends nothing", async () => {
    const before = ingress.seen.length;
    const { code, stdout, stderr } = await cli(["sign", "pre-signup", "--email", "o'brien@example.com"]);
    expect(code).toBe(EXIT_OK);
    expect(stdout).toMatch(
      new RegExp(`^curl -sS -X POST ${ingress.url}/auth/interceptors/pre-signup \\\\\n`),
    );
    expect(stdout).toContain("-H 'interceptor-signature: v1,");
    expect(stdout).toContain("o'\\''brien@example.com");
    expect(stderr).toContain("accepts this signature for 5 minutes");
    expect(ingress.seen.length).toBe(before);
  });

  it("--json prints the headers, body and curl line", async () => {
    const { code, stdout } = await cli(["sign", "pre-m2m-token-creation", "--client", "m2m_1", "--json"]);
    expect(code).toBe(EXIT_OK);
    const output = JSON.parse(stdout);
    expect(Object.keys(output.headers)).toEqual([
      "content-type",
      "interceptor-id",
      "interceptor-timestamp",
      "interceptor-signature",
    ]);
    expect(JSON.parse(output.body).data.m2m_token_claims.client_id).toBe("m2m_1");
    expect(output.curl).toMatch(/^curl /);
  });
});

describe("the gatehouse process", () => {
  const processEnv = (extra: Record<string, string>) => ({ ...process.env, NO_COLOR: "1", ...extra });

  it("npx tsx apps/cli/src/main.ts send pre-signup --json: prints the answer as JSON, exit 0", async () => {
    const { stdout } = await exec(
      "npx",
      ["tsx", "apps/cli/src/main.ts", "send", "pre-signup", "--url", ingress.url, "--json"],
      { cwd: repoRoot, env: processEnv({ SCALEKIT_INTERCEPTOR_SECRET: secret }) },
    );
    const output = JSON.parse(stdout);
    expect(output).toMatchObject({ status: 200, decision: "ALLOW", answer: { decision: "ALLOW" } });
    expect(output.latencyMs).toBeGreaterThan(0);
    expect(ingress.seen.at(-1)?.signatureValid).toBe(true);
  });

  it("bin/gatehouse.mjs exits 2 on a usage error, with the message on stderr", async () => {
    const running = exec(
      process.execPath,
      ["apps/cli/bin/gatehouse.mjs", "send", "pre-signup", "--frobnicate"],
      {
        cwd: repoRoot,
        env: processEnv({ SCALEKIT_INTERCEPTOR_SECRET: secret }),
      },
    );
    await expect(running).rejects.toMatchObject({ code: 2, stdout: "" });
    await running.catch((error: { stderr: string }) => {
      expect(error.stderr).toContain("Unknown option '--frobnicate'");
    });
  });

  it("exits 2 on a bad environment, naming the setting", async () => {
    const running = exec(process.execPath, ["apps/cli/bin/gatehouse.mjs", "help"], {
      cwd: repoRoot,
      env: processEnv({ PORT: "eighty" }),
    });
    await expect(running).rejects.toMatchObject({ code: 2 });
    await running.catch((error: { stderr: string }) => {
      expect(error.stderr).toContain("invalid environment: PORT: must be a port number");
    });
  });
});
