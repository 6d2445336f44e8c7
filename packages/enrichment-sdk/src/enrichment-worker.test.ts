import { randomUUID } from "node:crypto";
import { type CacheKeys, cacheKeys, decodeFact, FactAnnouncements } from "@gatehouse/decision-cache";
import { createRedis } from "@gatehouse/redis";
import { createLogger } from "@gatehouse/telemetry";
import { capturedLog, cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { type Job, Queue, type Worker } from "bullmq";
import { describe, expect, inject, it, vi } from "vitest";
import { z } from "zod";
import {
  defineEnrichment,
  type EnrichmentHandler,
  type StartContext,
  type StartingHandler,
} from "./define-enrichment.js";
import { startEnrichmentWorker } from "./enrichment-worker.js";
import { EnrichmentError, RateLimitedError } from "./errors/enrichment-error.js";
import { factKey } from "./fact-key.js";
import { bullPrefix, queueName } from "./queue-names.js";

// What test/worker.test.ts already covers (retries of a throwing run, the timeout, close() finishing an
// active job) is not repeated here: these are the payload, version and fact checks.

const redisUrl = inject("redisUrl");
const log = createLogger({ name: "enrichment-worker-test", level: "silent" });
const redis = testRedis();

const cleanups = cleanupsAfterEach();

const runs: string[] = [];

/** `bad-fact-*` returns a fact that fails the schema; `refuse-*` throws a non-retryable error. */
const checked = defineEnrichment({
  name: "test-checked",
  version: 2,
  input: z.object({ id: z.string().min(1) }),
  fact: z.object({ id: z.string(), score: z.number().int().min(0) }),
  fromRequest: () => undefined,
  subject: (input) => input.id,
  ttlSeconds: 120,
  // `short-*` facts live 30 s, the others the default 120 s.
  ttlFor: (fact) => (fact.id.startsWith("short") ? 30 : 120),
  timeoutMs: 1_000,
  retry: { attempts: 3, backoffMs: 10 },
  concurrency: 2,
  settings: z.object({}),
  setup: (): EnrichmentHandler<{ id: string }, { id: string; score: number }> => ({
    async run({ id }) {
      runs.push(id);
      if (id.startsWith("bad-fact")) return { id, score: -1 };
      if (id.startsWith("refuse"))
        throw new EnrichmentError("test.refused", "the provider refuses this subject", false);
      return { id, score: 7 };
    },
  }),
});

async function start(
  handler?: EnrichmentHandler<unknown, unknown>,
  logger = log,
): Promise<{ keys: CacheKeys; queue: Queue; worker: Worker }> {
  runs.length = 0;
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  const connection = createRedis({ url: redisUrl }, "bullmq");
  const cache = createRedis({ url: redisUrl }, "bullmq");
  cleanups.push(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length > 0) await redis.del(...found);
  });
  cleanups.push(() => Promise.allSettled([connection.quit(), cache.quit()]));
  const worker = startEnrichmentWorker({
    enrichment: checked,
    handler: handler ?? ((await checked.setup({})) as EnrichmentHandler<unknown, unknown>),
    connection,
    cache,
    keys,
    log: logger,
  });
  cleanups.push(() => worker.close());
  const queue = new Queue(queueName(checked), { connection: redis, prefix: bullPrefix(keys.prefix) });
  cleanups.push(() => queue.close());
  return { keys, queue, worker };
}

const add = (queue: Queue, name: string, data: unknown) =>
  queue.add(name, data, { attempts: 3, backoff: { type: "fixed", delay: 10 } });

async function settled(queue: Queue, id: string): Promise<Job> {
  let job: Job | undefined;
  await vi.waitFor(
    async () => {
      job = await queue.getJob(id);
      expect(["completed", "failed"]).toContain(await job?.getState());
    },
    { timeout: 5_000, interval: 10 },
  );
  return (await queue.getJob(id))!;
}

describe("startEnrichmentWorker", () => {
  it("completes a valid job: the fact is cached with the TTL and announced, and the subject returned", async () => {
    const { keys, queue } = await start();
    const subscriber = createRedis({ url: redisUrl }, "subscriber");
    const announcements = new FactAnnouncements(subscriber, keys);
    cleanups.push(async () => {
      announcements.close();
      await subscriber.quit();
    });
    await announcements.start();
    const key = factKey(keys, checked, { id: "good-1" });
    const announced = announcements.wait([key], 5_000);

    const job = await settled(queue, (await add(queue, "enrich.test-checked.v2", { id: "good-1" })).id!);
    expect(await job.getState()).toBe("completed");
    expect(job.returnvalue).toEqual({ subject: "good-1" });
    expect(job.attemptsMade).toBe(1);
    const stored = await redis.get(key);
    expect(decodeFact(stored ?? "")?.fact).toEqual({ id: "good-1", score: 7 });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(106); // 9/10 of the TTL at least (writeFact spreads them)
    expect(ttl).toBeLessThanOrEqual(120);
    expect((await announced).get(key)).toBe(stored);
  });

  it("caches a fact for the time ttlFor gives it", async () => {
    const { keys, queue } = await start();
    const job = await settled(queue, (await add(queue, "enrich.test-checked.v2", { id: "short-1" })).id!);
    expect(await job.getState()).toBe("completed");
    const ttl = await redis.ttl(factKey(keys, checked, { id: "short-1" }));
    expect(ttl).toBeGreaterThan(20);
    expect(ttl).toBeLessThanOrEqual(30);
  });

  it("fails a job named for another version at once, without running it, and says why", async () => {
    const { keys, queue } = await start();
    const job = await settled(queue, (await add(queue, "enrich.test-checked.v1", { id: "old-1" })).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.failedReason).toBe(
      "unknown job enrich.test-checked.v1; this worker runs enrich.test-checked.v2",
    );
    expect(job.attemptsMade).toBe(1);
    expect(runs).toEqual([]);
    expect(await redis.exists(factKey(keys, checked, { id: "old-1" }))).toBe(0);
  });

  it("fails an invalid payload without retrying, naming the field", async () => {
    const { keys, queue } = await start();
    const job = await settled(queue, (await add(queue, "enrich.test-checked.v2", { id: "" })).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/^enrich\.test-checked\.v2 produced or received an invalid input: id: /);
    expect(runs).toEqual([]);
    expect(await redis.keys(`${keys.prefix}:v1:fact:*`)).toEqual([]);

    const notAnObject = await settled(
      queue,
      (await add(queue, "enrich.test-checked.v2", "just a string")).id!,
    );
    expect(await notAnObject.getState()).toBe("failed");
    expect(notAnObject.attemptsMade).toBe(1);
    expect(notAnObject.failedReason).toMatch(/invalid input/);
  });

  it("fails a fact that does not match the fact schema without retrying, and caches nothing", async () => {
    const { keys, queue } = await start();
    const job = await settled(queue, (await add(queue, "enrich.test-checked.v2", { id: "bad-fact-1" })).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(
      /^enrich\.test-checked\.v2 produced or received an invalid fact: score: /,
    );
    expect(runs).toEqual(["bad-fact-1"]);
    expect(await redis.exists(factKey(keys, checked, { id: "bad-fact-1" }))).toBe(0);
  });

  it("does not retry a run that throws a non-retryable EnrichmentError", async () => {
    const { keys, queue } = await start();
    const job = await settled(queue, (await add(queue, "enrich.test-checked.v2", { id: "refuse-1" })).id!);
    expect(await job.getState()).toBe("failed");
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe("the provider refuses this subject");
    expect(runs).toEqual(["refuse-1"]);
    expect(await redis.exists(factKey(keys, checked, { id: "refuse-1" }))).toBe(0);
  });
});

describe("startEnrichmentWorker with a handler that starts", () => {
  /** A handler whose start resolves (or rejects) when the test says, recording what it was given. */
  function starting() {
    const events: string[] = [];
    let context: StartContext | undefined;
    let finish: (error?: Error) => void = () => {};
    const handler: StartingHandler<unknown, unknown> = {
      async run(input) {
        const { id } = input as { id: string };
        events.push(`run ${id}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        events.push(`ran ${id}`);
        return { id, score: 1 };
      },
      start(given) {
        context = given;
        events.push("start");
        return new Promise((resolve, reject) => {
          finish = (error) =>
            error
              ? reject(error)
              : resolve({
                  close: async () => {
                    events.push("stopped");
                  },
                });
        });
      },
    };
    return { handler, events, context: () => context, finish: (error?: Error) => finish(error) };
  }

  it("takes jobs only once start resolves, gives it Redis, the keys and a logger, and stops it after the jobs", async () => {
    const { handler, events, context, finish } = starting();
    const { keys, queue, worker } = await start(handler);
    const job = await add(queue, "enrich.test-checked.v2", { id: "waits-1" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toEqual(["start"]);
    expect(await job.getState()).toBe("waiting");
    expect(context()?.keys).toBe(keys);
    expect(await context()?.redis.ping()).toBe("PONG");
    expect(typeof context()?.log.warn).toBe("function");

    finish();
    expect(await (await settled(queue, job.id!)).getState()).toBe("completed");
    await add(queue, "enrich.test-checked.v2", { id: "in-flight" });
    await vi.waitFor(() => expect(events).toContain("run in-flight"), { timeout: 5_000, interval: 5 });
    await worker.close();
    expect(events).toEqual([
      "start",
      "run waits-1",
      "ran waits-1",
      "run in-flight",
      "ran in-flight",
      "stopped",
    ]);
  });

  it("takes no jobs and logs the error when start rejects", async () => {
    const { log: logger, lines } = capturedLog("enrichment-worker-test", "error");
    const { handler, events, finish } = starting();
    const { queue } = await start(handler, logger);
    finish(new Error("feed store unreachable"));
    const job = await add(queue, "enrich.test-checked.v2", { id: "never-1" });
    await vi.waitFor(() => expect(lines.join("")).toContain("feed store unreachable"), { timeout: 2_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await job.getState()).toBe("waiting");
    expect(events).toEqual(["start"]);
    expect(lines.join("")).toContain("enrichment handler did not start: this worker takes no jobs");
  });
});

describe("startEnrichmentWorker when the provider asks for a pause (RateLimitedError)", () => {
  it("pauses every worker of the queue for the time asked, and runs the job again without using an attempt", async () => {
    const runs: { id: string; at: number }[] = [];
    const busyOnce = new Set(["busy-1"]);
    const handler: EnrichmentHandler<unknown, unknown> = {
      async run(input) {
        const { id } = input as { id: string };
        runs.push({ id, at: Date.now() });
        if (busyOnce.delete(id)) throw new RateLimitedError("test.busy", "slow down", 700);
        return { id, score: 1 };
      },
    };
    const { log: logger, lines } = capturedLog("enrichment-worker-test", "warn");
    const { queue, keys } = await start(handler, logger);
    // A second worker on the same queue, in another "process" (its own connections).
    const connection = createRedis({ url: redisUrl }, "bullmq");
    const cache = createRedis({ url: redisUrl }, "bullmq");
    cleanups.push(() => Promise.allSettled([connection.quit(), cache.quit()]));
    const other = startEnrichmentWorker({
      enrichment: checked,
      handler,
      connection,
      cache,
      keys,
      log: logger,
    });
    cleanups.push(() => other.close());

    // One attempt only: had the pause used it, the job would fail.
    const busy = await queue.add("enrich.test-checked.v2", { id: "busy-1" }, { attempts: 1 });
    await vi.waitFor(() => expect(runs).toHaveLength(1), { timeout: 5_000, interval: 5 });
    const pausedAt = runs[0]!.at;
    const next = await queue.add("enrich.test-checked.v2", { id: "next-1" }, { attempts: 1 });

    for (const job of [busy, next])
      expect(await (await settled(queue, job.id!)).getState()).toBe("completed");
    const later = runs.slice(1);
    expect(later.map((run) => run.id).sort()).toEqual(["busy-1", "next-1"]);
    // Neither worker took a job before the pause was over.
    for (const run of later) expect(run.at - pausedAt).toBeGreaterThanOrEqual(650);
    expect(lines.join("")).toContain("provider asked for a pause");
  });
});

describe("startEnrichmentWorker with a handler's rate limit", () => {
  it("starts at most `max` runs every `perMs`", async () => {
    const starts: number[] = [];
    const handler: EnrichmentHandler<unknown, unknown> = {
      rateLimit: { max: 2, perMs: 400 },
      async run(input) {
        starts.push(Date.now());
        return { id: (input as { id: string }).id, score: 1 };
      },
    };
    const { queue } = await start(handler);
    const added = await queue.addBulk(
      Array.from({ length: 6 }, (_, n) => ({ name: "enrich.test-checked.v2", data: { id: `limited-${n}` } })),
    );
    for (const job of added) expect(await (await settled(queue, job.id!)).getState()).toBe("completed");
    // Two runs a window: the last two start in the third window, 800 ms after the first at least.
    expect(starts).toHaveLength(6);
    expect(starts[5]! - starts[0]!).toBeGreaterThanOrEqual(750);
  });
});
