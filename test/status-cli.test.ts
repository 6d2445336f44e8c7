import { randomUUID } from "node:crypto";
import { createRedis } from "@gatehouse/redis";
import { cleanupsAfterEach } from "@gatehouse/testing";
import { describe, expect, it } from "vitest";
import { EXIT_ATTENTION, EXIT_NETWORK } from "../apps/cli/src/cli.js";
import { runCliCollecting, testEnv } from "../apps/cli/src/testing/run-cli.js";
import { freePort, startRedis } from "./support/redis-server.js";

// `gatehouse status` against a Redis of its own, configured as the shared one must not be.

const cleanups = cleanupsAfterEach();

describe("gatehouse status on a Redis that needs attention", () => {
  it("names an eviction policy other than noeviction and a Redis over 90% of its maxmemory", async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const client = createRedis({ url: server.url }, "bullmq");
    cleanups.push(() => client.quit());
    const used = Number(/used_memory:(\d+)/.exec(await client.info("memory"))?.[1]);
    // A limit just above what it holds now: 95% full or more.
    await client.config("SET", "maxmemory", String(Math.ceil(used / 0.95)));
    await client.config("SET", "maxmemory-policy", "allkeys-lru");

    const env = testEnv({ redisUrl: server.url, keyPrefix: `s${randomUUID().slice(0, 8)}` });
    const run = await runCliCollecting(["status"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(EXIT_ATTENTION);
    const address = `127.0.0.1:${server.port}`;
    expect(run.stdout).toContain(
      `  - Redis ${address}: maxmemory-policy is allkeys-lru, not noeviction: queued jobs may be evicted\n`,
    );
    expect(run.stdout).toMatch(
      new RegExp(
        `  - Redis ${address}: (9\\d|1\\d\\d)% of its maxmemory used; when full it refuses facts, jobs and audit records\\n`,
      ),
    );
  });

  it("says Redis cannot be reached, exit 1", async () => {
    const env = testEnv({ redisUrl: `redis://127.0.0.1:${await freePort()}` });
    const run = await runCliCollecting(["status"], env);
    expect(run.code).toBe(EXIT_NETWORK);
    expect(run.stderr).toMatch(/^gatehouse: could not reach redis:\/\/127\.0\.0\.1:\d+/);
  });
});
