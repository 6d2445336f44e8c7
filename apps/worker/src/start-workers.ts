import { announcePresence, cacheKeys } from "@gatehouse/decision-cache";
import {
  bullPrefix,
  enrichmentsTakingJobs,
  type JobCounts,
  jobCounts,
  queueName,
  startEnrichmentWorker,
  warmCache,
} from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS, type EnrichmentName } from "@gatehouse/enrichments";
import {
  answerWithin,
  closeClient,
  createRedis,
  logConnectionErrors,
  ping,
  redisTarget,
} from "@gatehouse/redis";
import type { Logger } from "@gatehouse/telemetry";
import { Queue, type Worker } from "bullmq";
import type { WorkerEnv } from "./env.js";

export interface RunningWorkers {
  /** One BullMQ worker per enabled enrichment. */
  readonly workers: ReadonlyMap<EnrichmentName, Worker>;
  /** Whether Redis answers a PING within `timeoutMs`. */
  redisUp(timeoutMs: number): Promise<boolean>;
  /** Each enabled enrichment's queue, its jobs by state; undefined when Redis did not answer within `timeoutMs`. */
  jobCounts(timeoutMs: number): Promise<Map<EnrichmentName, JobCounts> | undefined>;
  /**
   * Lets in-flight jobs finish (or return to the queue when the lock is lost), then disconnects; with Redis
   * away, disconnects at once.
   */
  close(): Promise<void>;
}

/** One BullMQ worker per enabled enrichment, after warming the cache from each one's lists. */
export async function startWorkers(env: WorkerEnv, log: Logger): Promise<RunningWorkers> {
  const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  const cache = createRedis({ ...redisTarget(env), name: "worker" }, "bullmq");
  const connection = createRedis({ ...redisTarget(env), name: "worker" }, "bullmq");
  logConnectionErrors([cache, connection], log, redisTarget(env));
  await warnUnlessNoEviction(cache, log);

  const workers = new Map<EnrichmentName, Worker>();
  const queues = new Map<EnrichmentName, Queue>();
  for (const name of env.GATEHOUSE_ENRICHMENTS) {
    const enrichment = ENRICHMENTS[name];
    const handler = await enrichment.setup(env.settings.get(name) as never);
    if (env.GATEHOUSE_WARM) {
      const started = Date.now();
      const written = await warmCache(cache, keys, enrichment, handler as never);
      if (written > 0)
        log.info({ enrichment: name, facts: written, ms: Date.now() - started }, "cache warmed");
    }
    const worker = startEnrichmentWorker({
      enrichment,
      handler: handler as never,
      connection,
      cache,
      keys,
      log,
      lockDurationMs: env.GATEHOUSE_JOB_LOCK_MS,
    });
    workers.set(name, worker);
    // Read for the backlog gauges; its connection's errors are logged above.
    const queue = new Queue(queueName(enrichment), { connection: cache, prefix: bullPrefix(keys.prefix) });
    queue.on("error", () => {});
    queues.set(name, queue);
    // Ready means BullMQ's own start-up commands are done: closing before that left one of them to
    // fail unhandled ("Connection is closed") when a SIGTERM came right after the start.
    await worker.waitUntilReady();
    log.info({ enrichment: name }, "worker running");
  }
  // The ingress waits for a missing fact only while some worker says it computes it (worker-presence.ts):
  // a worker that stopped taking jobs (its handler failed to start, its loop ended) says nothing.
  const presence = announcePresence(cache, keys, () => enrichmentsTakingJobs(workers));

  return {
    workers,
    redisUp: (timeoutMs) => ping(connection, timeoutMs),
    jobCounts: (timeoutMs) =>
      answerWithin(cache, timeoutMs, async () => {
        // Every queue at once: one round trip for all of them, not one after another.
        const read = [...queues].map(async ([name, queue]) => [name, await jobCounts(queue)] as const);
        return new Map(await Promise.all(read));
      }),
    async close() {
      // With Redis away — down, or not answering a PING within 1 s — a job in flight cannot be completed
      // anyway (its lock expires and another worker runs it again), and a graceful close would wait for
      // Redis: BullMQ then disconnects instead.
      presence.stop();
      const away = !(await ping(connection, 1_000));
      await Promise.all([...workers.values()].map((worker) => worker.close(away)));
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      await Promise.allSettled([cache, connection].map(closeClient));
    },
  };
}

/** BullMQ's data must never be evicted; managed Redis may forbid CONFIG, which is not an error. */
async function warnUnlessNoEviction(redis: ReturnType<typeof createRedis>, log: Logger): Promise<void> {
  try {
    const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
    if (policy !== "noeviction") {
      log.warn(
        { policy },
        "Redis maxmemory-policy is not noeviction: queued jobs may be evicted under memory pressure",
      );
    }
  } catch {
    log.debug("could not read maxmemory-policy (CONFIG not allowed)");
  }
}
