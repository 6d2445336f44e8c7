import { describe, expect, it } from "vitest";
import { parseEnv } from "./env.js";

const DEFAULTS = {
  ok: true,
  env: {
    defaultUrl: "http://127.0.0.1:8080",
    secrets: [],
    redisUrl: "redis://127.0.0.1:6379",
    keyPrefix: "gh",
  },
};

describe("parseEnv", () => {
  it("points at the local ingress on port 8080 by default, with no secret", () => {
    expect(parseEnv({})).toEqual(DEFAULTS);
  });

  it("follows PORT, and GATEHOUSE_URL over PORT", () => {
    expect(parseEnv({ PORT: "9090" })).toMatchObject({ env: { defaultUrl: "http://127.0.0.1:9090" } });
    expect(parseEnv({ PORT: "9090", GATEHOUSE_URL: "https://gatehouse.example.com" })).toMatchObject({
      env: { defaultUrl: "https://gatehouse.example.com" },
    });
  });

  it("treats blank variables as unset", () => {
    expect(
      parseEnv({
        PORT: "",
        GATEHOUSE_URL: "",
        SCALEKIT_INTERCEPTOR_SECRET: "",
        REDIS_URL: "",
        REDIS_CLUSTER_NODES: "",
        GATEHOUSE_KEY_PREFIX: "",
      }),
    ).toEqual(DEFAULTS);
  });

  it("reads a Redis Cluster's nodes for explain, and names a bad entry", () => {
    expect(parseEnv({ REDIS_CLUSTER_NODES: "127.0.0.1:7000,127.0.0.1:7001" })).toMatchObject({
      env: { redisClusterNodes: ["127.0.0.1:7000", "127.0.0.1:7001"] },
    });
    const bad = parseEnv({ REDIS_CLUSTER_NODES: "127.0.0.1" });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/REDIS_CLUSTER_NODES.*"127\.0\.0\.1" is not host:port/);
  });

  it("splits a rotation list of secrets", () => {
    expect(parseEnv({ SCALEKIT_INTERCEPTOR_SECRET: "whsec_AAAA, whsec_BBBB" })).toMatchObject({
      env: { secrets: ["whsec_AAAA", "whsec_BBBB"] },
    });
  });

  it("reads the Redis URL and key prefix that explain uses", () => {
    expect(
      parseEnv({ REDIS_URL: "rediss://:pw@redis.example.com:6380/2", GATEHOUSE_KEY_PREFIX: "staging_1" }),
    ).toMatchObject({
      env: { redisUrl: "rediss://:pw@redis.example.com:6380/2", keyPrefix: "staging_1" },
    });
  });

  it.each([
    ["PORT", "abc"],
    ["PORT", "0"],
    ["PORT", "70000"],
    ["PORT", "80.5"],
    ["GATEHOUSE_URL", "not a url"],
    ["GATEHOUSE_URL", "ftp://example.com"],
    ["REDIS_URL", "localhost:6379"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["GATEHOUSE_KEY_PREFIX", "gh:v1"],
    ["GATEHOUSE_KEY_PREFIX", "x".repeat(33)],
  ])("rejects %s=%j with a message naming it", (name, value) => {
    const result = parseEnv({ [name]: value });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(new RegExp(`^invalid environment: ${name}: `));
  });
});

describe("parseEnv: GATEHOUSE_ADMIN_TOKEN", () => {
  it("passes the admin token on for `facts`, and leaves it out when unset or blank", () => {
    const token = "t".repeat(40);
    expect(parseEnv({ GATEHOUSE_ADMIN_TOKEN: token })).toMatchObject({
      ok: true,
      env: { adminToken: token },
    });
    // The ingress' list during a rotation (`new,old`): the CLI sends the new one.
    expect(parseEnv({ GATEHOUSE_ADMIN_TOKEN: `${token}, ${"o".repeat(40)}` })).toMatchObject({
      ok: true,
      env: { adminToken: token },
    });
    for (const source of [{}, { GATEHOUSE_ADMIN_TOKEN: "" }]) {
      const parsed = parseEnv(source);
      expect(parsed.ok && Object.hasOwn(parsed.env, "adminToken")).toBe(false);
    }
  });
});
