import { describe, expect, it } from "vitest";
import { z } from "zod";
import { nodeListConnection, nodeListDisplay, parseNodeList } from "./node-list.js";
import { checkRedisEnv, redisEnvShape, redisTarget } from "./redis-env.js";

const schema = z.object(redisEnvShape).superRefine(checkRedisEnv);

describe("REDIS_URL and REDIS_CLUSTER_NODES", () => {
  it("defaults to a local Redis, and takes a cluster's nodes instead when they are given", () => {
    expect(redisTarget(schema.parse({}))).toEqual({ url: "redis://127.0.0.1:6379" });
    const env = schema.parse({ REDIS_CLUSTER_NODES: " 10.0.0.1:7000, redis-2.internal:7001 ,[::1]:7002" });
    expect(env.REDIS_CLUSTER_NODES).toEqual(["10.0.0.1:7000", "redis-2.internal:7001", "[::1]:7002"]);
    expect(redisTarget(env)).toEqual({
      url: "redis://127.0.0.1:6379",
      clusterNodes: ["10.0.0.1:7000", "redis-2.internal:7001", "[::1]:7002"],
    });
  });

  it("takes URLs whose credentials and TLS every node shares", () => {
    const entries = parseNodeList(
      "rediss://default:s%40cret@clustercfg.example.com:6380, rediss://default:s%40cret@[::1],10.0.0.9:7000",
    );
    expect(nodeListConnection(entries)).toEqual({
      nodes: [
        { host: "clustercfg.example.com", port: 6380 },
        { host: "::1", port: 6379 },
        { host: "10.0.0.9", port: 7000 },
      ],
      username: "default",
      password: "s@cret",
      tls: true,
    });
    expect(nodeListDisplay(entries)).toBe(
      "rediss://clustercfg.example.com:6380,rediss://[::1],10.0.0.9:7000",
    );
    expect(nodeListConnection(["redis://:pw@a:7000"])).toEqual({
      nodes: [{ host: "a", port: 7000 }],
      password: "pw",
      tls: false,
    });
    expect(nodeListConnection(["a:7000", "[::1]:7001"])).toEqual({
      nodes: [
        { host: "a", port: 7000 },
        { host: "::1", port: 7001 },
      ],
      tls: false,
    });
  });

  it("names the entry at fault, never with its password", () => {
    for (const [value, message] of [
      ["10.0.0.1", /"10\.0\.0\.1" is not host:port or a redis:\/\/ URL/],
      ["user:secret@10.0.0.1:7000", /"10\.0\.0\.1:7000" is not host:port or a redis:\/\/ URL/],
      ["http://x:7001", /"http:\/\/x:7001" is not host:port/],
      ["a:70000", /"a:70000" has no valid port/],
      ["redis://:secret@a:70000", /"redis:\/\/a:70000" is not a valid URL/],
      ["redis://:secret@a:7000/2", /"redis:\/\/a:7000\/2" names a database/],
      [
        "rediss://:secret@a:7000,redis://:secret@b:7000",
        /"redis:\/\/b:7000" and "rediss:\/\/a:7000" differ in scheme or credentials/,
      ],
      ["redis://:secret@a:7000,redis://:other@b:7000", /differ in scheme or credentials/],
      [" , ", /names no node/],
    ] as const) {
      expect(() => parseNodeList(value)).toThrow(message);
      const result = schema.safeParse({ REDIS_CLUSTER_NODES: value });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["REDIS_CLUSTER_NODES"]);
      expect(JSON.stringify(result.error?.issues)).not.toMatch(/secret|other/);
    }
  });

  it("takes Sentinels, REDIS_URL then naming the master group, and not with a cluster", () => {
    const env = schema.parse({
      REDIS_URL: "rediss://:pw@mymaster/2",
      REDIS_SENTINELS: "10.0.0.1:26379, redis://:sentinel-pw@10.0.0.2:26379",
    });
    expect(redisTarget(env)).toEqual({
      url: "rediss://:pw@mymaster/2",
      sentinels: ["10.0.0.1:26379", "redis://:sentinel-pw@10.0.0.2:26379"],
    });
    const both = schema.safeParse({ REDIS_SENTINELS: "a:26379", REDIS_CLUSTER_NODES: "b:7000" });
    expect(both.success).toBe(false);
    expect(both.error?.issues).toEqual([
      expect.objectContaining({ path: ["REDIS_SENTINELS"], message: expect.stringMatching(/either/) }),
    ]);
    const bad = schema.safeParse({ REDIS_SENTINELS: "a" });
    expect(bad.error?.issues[0]).toMatchObject({
      path: ["REDIS_SENTINELS"],
      message: '"a" is not host:port or a redis:// URL',
    });
  });
});
