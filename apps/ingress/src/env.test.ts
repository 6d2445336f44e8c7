import { describe, expect, it } from "vitest";
import { parseIngressEnv } from "./env.js";

const SECRET = "whsec_dGVzdHNlY3JldA==";

/** The error message of a bad configuration, or a failure when it parses. */
function problems(source: Record<string, string | undefined>): string {
  try {
    parseIngressEnv(source);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be rejected");
}

describe("parseIngressEnv", () => {
  it("has a default for everything but the secret", () => {
    // toMatchObject: settings added later have their own tests.
    expect(parseIngressEnv({ SCALEKIT_INTERCEPTOR_SECRET: SECRET, PATH: "/usr/bin" })).toMatchObject({
      PORT: 8080,
      HOST: "0.0.0.0",
      REDIS_URL: "redis://127.0.0.1:6379",
      SCALEKIT_INTERCEPTOR_SECRET: SECRET,
      LOG_LEVEL: "info",
      GATEHOUSE_DEADLINE_MS: 1_500,
      GATEHOUSE_BODY_LIMIT_BYTES: 65_536,
      GATEHOUSE_KEEP_ALIVE_MS: 72_000,
      GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS: 300,
      GATEHOUSE_REDIS_TIMEOUT_MS: 250,
      GATEHOUSE_KEY_PREFIX: "gh",
      GATEHOUSE_AUDIT_MAXLEN: 10_000,
    });
  });

  it("parses every setting from strings", () => {
    const env = parseIngressEnv({
      PORT: "9090",
      HOST: "127.0.0.1",
      REDIS_URL: "rediss://user:pw@redis.internal:6380/2",
      SCALEKIT_INTERCEPTOR_SECRET: `${SECRET},whsec_b2xk`,
      GATEHOUSE_POLICY: "/etc/gatehouse/policy.yaml",
      LOG_LEVEL: "debug",
      GATEHOUSE_DEADLINE_MS: "3000",
      GATEHOUSE_BODY_LIMIT_BYTES: "2048",
      GATEHOUSE_KEEP_ALIVE_MS: "620000",
      GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS: "60",
      GATEHOUSE_REDIS_TIMEOUT_MS: "100",
      GATEHOUSE_KEY_PREFIX: "tenant_a-1",
      GATEHOUSE_AUDIT_MAXLEN: "500",
    });
    expect(env).toMatchObject({
      PORT: 9090,
      HOST: "127.0.0.1",
      REDIS_URL: "rediss://user:pw@redis.internal:6380/2",
      SCALEKIT_INTERCEPTOR_SECRET: `${SECRET},whsec_b2xk`,
      GATEHOUSE_POLICY: "/etc/gatehouse/policy.yaml",
      LOG_LEVEL: "debug",
      GATEHOUSE_DEADLINE_MS: 3_000,
      GATEHOUSE_BODY_LIMIT_BYTES: 2_048,
      GATEHOUSE_KEEP_ALIVE_MS: 620_000,
      GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS: 60,
      GATEHOUSE_REDIS_TIMEOUT_MS: 100,
      GATEHOUSE_KEY_PREFIX: "tenant_a-1",
      GATEHOUSE_AUDIT_MAXLEN: 500,
    });
  });

  it("requires the signing secret, saying where it comes from", () => {
    const message = problems({});
    expect(message).toMatch(/^invalid configuration:/);
    expect(message).toContain(
      "SCALEKIT_INTERCEPTOR_SECRET: is required (whsec_… from the Scalekit dashboard)",
    );
    expect(problems({ SCALEKIT_INTERCEPTOR_SECRET: "" })).toContain("SCALEKIT_INTERCEPTOR_SECRET:");
  });

  it("reads an empty variable as unset", () => {
    const env = parseIngressEnv({
      SCALEKIT_INTERCEPTOR_SECRET: SECRET,
      GATEHOUSE_POLICY: "",
      HOST: "",
      PORT: "",
    });
    expect([env.GATEHOUSE_POLICY, env.HOST, env.PORT]).toEqual([undefined, "0.0.0.0", 8080]);
  });

  it.each([
    ["PORT", "http"],
    ["PORT", "70000"],
    ["PORT", "80.5"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["REDIS_URL", "127.0.0.1:6379"],
    ["LOG_LEVEL", "verbose"],
    ["GATEHOUSE_DEADLINE_MS", "10"],
    ["GATEHOUSE_DEADLINE_MS", "60000"],
    ["GATEHOUSE_BODY_LIMIT_BYTES", "100"],
    ["GATEHOUSE_KEEP_ALIVE_MS", "500"],
    ["GATEHOUSE_KEEP_ALIVE_MS", "86400000"],
    ["GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS", "0"],
    ["GATEHOUSE_SIGNATURE_TOLERANCE_SECONDS", "86400"],
    ["GATEHOUSE_REDIS_TIMEOUT_MS", "5"],
    ["GATEHOUSE_KEY_PREFIX", "has:colon"],
    ["GATEHOUSE_KEY_PREFIX", "x".repeat(33)],
    ["GATEHOUSE_AUDIT_MAXLEN", "10"],
  ])("names %s when it is %j", (name, value) => {
    const message = problems({ SCALEKIT_INTERCEPTOR_SECRET: SECRET, [name]: value });
    const named = message
      .split("\n")
      .slice(1)
      .map((line) => /^ {2}([A-Z_]+): /.exec(line)?.[1]);
    // The bad setting comes first; a too-short deadline also breaks the timeout < deadline rule.
    expect(named[0]).toBe(name);
    expect(named.slice(1).every((other) => other === "GATEHOUSE_REDIS_TIMEOUT_MS")).toBe(true);
  });

  it("names every bad setting at once", () => {
    const message = problems({ PORT: "-1", LOG_LEVEL: "loud", REDIS_URL: "tcp://x" });
    for (const name of ["PORT", "LOG_LEVEL", "REDIS_URL", "SCALEKIT_INTERCEPTOR_SECRET"])
      expect(message).toMatch(new RegExp(`\\n  ${name}: `));
  });

  it("explains the key prefix and Redis URL rules", () => {
    expect(problems({ SCALEKIT_INTERCEPTOR_SECRET: SECRET, GATEHOUSE_KEY_PREFIX: "a b" })).toContain(
      "GATEHOUSE_KEY_PREFIX: letters, digits, '_' or '-'",
    );
    expect(problems({ SCALEKIT_INTERCEPTOR_SECRET: SECRET, REDIS_URL: "localhost" })).toContain(
      "REDIS_URL: must start with redis:// or rediss://",
    );
  });

  it("requires the Redis timeout to be shorter than the deadline", () => {
    const base = { SCALEKIT_INTERCEPTOR_SECRET: SECRET };
    expect(problems({ ...base, GATEHOUSE_DEADLINE_MS: "200" })).toContain(
      "GATEHOUSE_REDIS_TIMEOUT_MS: must be shorter than GATEHOUSE_DEADLINE_MS",
    );
    expect(problems({ ...base, GATEHOUSE_DEADLINE_MS: "300", GATEHOUSE_REDIS_TIMEOUT_MS: "300" })).toContain(
      "GATEHOUSE_REDIS_TIMEOUT_MS: must be shorter than GATEHOUSE_DEADLINE_MS",
    );
    expect(
      parseIngressEnv({ ...base, GATEHOUSE_DEADLINE_MS: "300", GATEHOUSE_REDIS_TIMEOUT_MS: "299" }),
    ).toMatchObject({ GATEHOUSE_DEADLINE_MS: 300, GATEHOUSE_REDIS_TIMEOUT_MS: 299 });
  });

  it("leaves the admin API off unless GATEHOUSE_ADMIN_TOKEN is set, and takes a token of 32 characters or more", () => {
    const base = { SCALEKIT_INTERCEPTOR_SECRET: SECRET };
    expect(parseIngressEnv(base).GATEHOUSE_ADMIN_TOKEN).toBeUndefined();
    expect(parseIngressEnv({ ...base, GATEHOUSE_ADMIN_TOKEN: "" }).GATEHOUSE_ADMIN_TOKEN).toBeUndefined();
    const token = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5Cg==";
    expect(parseIngressEnv({ ...base, GATEHOUSE_ADMIN_TOKEN: token }).GATEHOUSE_ADMIN_TOKEN).toEqual([token]);
    // A rotation: every token of the list, in order, blanks around the commas ignored.
    const next = "bmV4dHRva2VubmV4dHRva2VubmV4dHRva2Vu";
    expect(
      parseIngressEnv({ ...base, GATEHOUSE_ADMIN_TOKEN: `${next}, ${token}` }).GATEHOUSE_ADMIN_TOKEN,
    ).toEqual([next, token]);
  });

  it.each([
    ["x".repeat(31), "must be at least 32 characters"],
    [`${"x".repeat(20)} ${"y".repeat(20)}`, "must be printable ASCII without spaces or commas"],
    [`${"x".repeat(40)}é`, "must be printable ASCII without spaces or commas"],
    [`${"x".repeat(40)},${"y".repeat(31)}`, "token 2 of 2 must be at least 32 characters"],
    [`${"x".repeat(40)},`, "token 2 of 2 must be at least 32 characters"],
    [
      Array.from({ length: 5 }, (_, i) => String(i).repeat(40)).join(","),
      "at most 4 tokens, comma-separated",
    ],
  ])("refuses GATEHOUSE_ADMIN_TOKEN=%j, naming it without echoing it", (token, reason) => {
    const message = problems({ SCALEKIT_INTERCEPTOR_SECRET: SECRET, GATEHOUSE_ADMIN_TOKEN: token });
    expect(message).toContain(`GATEHOUSE_ADMIN_TOKEN: ${reason}`);
    expect(message).not.toContain(token);
  });
});
