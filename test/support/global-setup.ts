import type {} from "@gatehouse/testing";
import type { TestProject } from "vitest/node";
import { type RedisServer, startRedis } from "./redis-server.js";

let redis: RedisServer | undefined;

/** One real Redis for the whole run; tests that need to break Redis start their own. */
export async function setup(project: TestProject) {
  redis = await startRedis();
  project.provide("redisUrl", redis.url);
}

export async function teardown() {
  await redis?.stop();
}
