import { cacheKeys } from "@gatehouse/decision-cache";
import { startEnrichmentWorker, warmCache } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { closeClient, createRedis, logConnectionErrors, ping, redisTarget } from "@gatehouse/redis";
import type { Logger } from "@gatehouse/telemetry";
import type { Worker } from "bullmq";
import { parseEnrichmentSettings, type WorkerEnv } from "./env.js";

export interface RunningWorkers {
  readonly workers: readonly Worker[];
  /**
   * Lets in-flight jobs finish (or return to the queue when the lock is lost), then disconnects; with Redis
   * away, disconnects at once.
   */
  close(): Promise<void>;
}

/** One BullMQ worker per enabled enrichment, after warming the cache from each one's lists. */
export async function startWorkers(
  env: WorkerEnv,
  log: Logger,
  source: Record<string, string | undefined>,
): Promise<RunningWorkers> {
  const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
  const cache = createRedis({ ...redisTarget(env), name: "worker" }, "bullmq");
  const connection = createRedis({ ...redisTarget(env), name: "worker" }, "bullmq");
  logConnectionErrors([cache, connection], log);
  await warnUnlessNoEviction(cache, log);

  const workers: Worker[] = [];
  for (const name of env.GATEHOUSE_ENRICHMENTS) {
    const enrichment = ENRICHMENTS[name];
    const handler = await enrichment.setup(parseEnrichmentSettings(enrichment, source) as never);
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
    workers.push(worker);
    // Ready means BullMQ's own start-up commands are done: closing before that left one of them to
    // fail unhandled ("Connection is closed") when a SIGTERM came right after the start.
    await worker.waitUntilReady();
    log.info({ enrichment: name }, "worker running");
  }

  return {
    workers,
    async close() {
      // With Redis away — down, or not answering a PING within 1 s — a job in flight cannot be completed
      // anyway (its lock expires and another worker runs it again), and a graceful close would wait for
      // Redis: BullMQ then disconnects instead.
      const away = !(await ping(connection, 1_000));
      await Promise.all(workers.map((worker) => worker.close(away)));
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
