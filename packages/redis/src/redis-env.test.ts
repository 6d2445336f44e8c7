import { describe, expect, it } from "vitest";
import { z } from "zod";
import { parseClusterNodes } from "./create-redis.js";
import { redisEnvShape, redisTarget } from "./redis-env.js";

const schema = z.object(redisEnvShape);

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

  it("names the entry that is not host:port", () => {
    for (const [value, message] of [
      ["10.0.0.1", /"10\.0\.0\.1" is not host:port/],
      ["10.0.0.1:7000,redis://x:7001", /"redis:\/\/x:7001" is not host:port/],
      ["a:70000", /"a:70000" has no valid port/],
      [" , ", /names no node/],
    ] as const) {
      expect(() => parseClusterNodes(value)).toThrow(message);
      const result = schema.safeParse({ REDIS_CLUSTER_NODES: value });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(["REDIS_CLUSTER_NODES"]);
    }
  });
});
