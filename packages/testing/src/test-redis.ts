import { createRedis, type Redis, type RedisProfile, whenReady } from "@gatehouse/redis";
import { afterAll, beforeAll, inject } from "vitest";
import type {} from "./provided-context.js";

/**
 * A client to the run's Redis (started by test/support/global-setup.ts) for one test file: connected
 * before its first test (the request-path profile queues nothing while connecting), closed after its last.
 * Each test still isolates its keys under a prefix of its own.
 */
export function testRedis(profile: RedisProfile = "bullmq"): Redis {
  const redis = createRedis({ url: inject("redisUrl") }, profile);
  beforeAll(async () => {
    await whenReady(redis);
  });
  afterAll(async () => {
    await redis.quit();
  });
  return redis;
}
