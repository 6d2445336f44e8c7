import type { EventEmitter } from "node:events";
import { type CacheKeys, writeFact } from "@gatehouse/decision-cache";
import type { RedisClient } from "@gatehouse/redis";
import { inSpan, type Logger, lineAt, throttledLogPerKey } from "@gatehouse/telemetry";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import {
  type AnyEnrichment,
  type EnrichmentHandler,
  isStartingHandler,
  type StartedHandler,
} from "./define-enrichment.js";
import { EnrichmentError, InvalidJobError, RateLimitedError } from "./errors/enrichment-error.js";
import { factKey } from "./fact-key.js";
import { bullPrefix, jobName, queueName } from "./queue-names.js";
import { runWithTimeout } from "./run-with-timeout.js";
import { DEFAULTS } from "./settings.js";

/** The longest pause a provider may ask of a queue at once (RateLimitedError). */
const MAX_PROVIDER_PAUSE_MS = 60_000;

const PROVIDER_PAUSE = "gatehouse:provider-pause";

/** Calls `listener` each time a job of this worker meets a provider asking for a pause (RateLimitedError). */
export function onProviderPause(worker: Worker, listener: (pauseMs: number) => void): void {
  (worker as unknown as EventEmitter).on(PROVIDER_PAUSE, listener);
}

const REDIS_FULL =
  "Redis is full (maxmemory): no job is taken until it has room; the waiting ones keep their place";

export interface EnrichmentWorkerOptions {
  enrichment: AnyEnrichment;
  handler: EnrichmentHandler<unknown, unknown>;
  /** A `bullmq`-profile connection for the worker's blocking commands. */
  connection: RedisClient;
  /** A connection for the facts it writes and announces. */
  cache: RedisClient;
  keys: CacheKeys;
  log: Logger;
  /** Overrides the definition's concurrency. */
  concurrency?: number;
  /**
   * A job whose lock is not renewed for this long (its worker died) is stalled and run again; the stalled
   * check runs at the same interval. Default: 30 s (BullMQ's defaults for both).
   */
  lockDurationMs?: number;
}

const issuesOf = (error: { issues: { path: PropertyKey[]; message: string }[] }) =>
  error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.join(".")}: ${issue.message}`)
    .join("; ");

/**
 * A Worker whose handler must start first (`StartingHandler.start`): it takes jobs once the start
 * resolves, and its close() also stops what the start started, after the jobs in flight have finished.
 */
class StartingWorker extends Worker {
  #started: Promise<StartedHandler | undefined> = Promise.resolve(undefined);
  #closed: Promise<void> | undefined;
  starting = false;

  startAfter(start: () => Promise<StartedHandler>, log: Logger): void {
    this.starting = true;
    this.#started = start().then(
      (started) => {
        this.starting = false;
        if (!this.closing)
          this.run().catch((error: unknown) => log.error({ err: error }, "worker stopped taking jobs"));
        return started;
      },
      (error: unknown) => {
        this.starting = false;
        log.error({ err: error }, "enrichment handler did not start: this worker takes no jobs");
        return undefined;
      },
    );
  }

  override close(force = false): Promise<void> {
    this.#closed ??= (async () => {
      await super.close(force);
      await (await this.#started)?.close();
    })();
    return this.#closed;
  }
}

/**
 * What a worker from startEnrichmentWorker is doing: "starting" while its handler starts, "running" while it
 * takes jobs, "closing" once asked to stop, "stopped" when it takes no jobs and was not asked to stop (its
 * handler failed to start, or its loop ended).
 */
export type WorkerState = "starting" | "running" | "closing" | "stopped";

export function workerState(worker: Worker): WorkerState {
  if (worker.closing) return "closing";
  if (worker.isRunning()) return "running";
  return worker instanceof StartingWorker && worker.starting ? "starting" : "stopped";
}

/** The enrichments whose workers take jobs, or are starting to: what a worker process says it runs. */
export function enrichmentsTakingJobs(workers: ReadonlyMap<string, Worker>): string[] {
  const names: string[] = [];
  for (const [name, worker] of workers) {
    const state = workerState(worker);
    if (state === "running" || state === "starting") names.push(name);
  }
  return names;
}

/**
 * Runs one enrichment's jobs: validates the payload, runs with a timeout, validates the fact, writes it to
 * the decision cache with its TTL and announces it. A StartingHandler is started first. A provider failure is never cached: it throws, BullMQ
 * retries with backoff, and after the last attempt keeps the job as failed with the reason.
 */
export function startEnrichmentWorker(options: EnrichmentWorkerOptions): Worker {
  const { enrichment, handler, keys } = options;
  const name = jobName(enrichment);
  const ttlSeconds = enrichment.ttlSeconds ?? DEFAULTS.ttlSeconds;
  const timeoutMs = enrichment.timeoutMs ?? DEFAULTS.timeoutMs;

  const process = (job: Job, _token?: string, signal?: AbortSignal) =>
    inSpan(`job ${name}`, async () => {
      if (job.name !== name)
        throw new UnrecoverableError(`unknown job ${job.name}; this worker runs ${name}`);
      const input = enrichment.input.safeParse(job.data);
      if (!input.success)
        throw new UnrecoverableError(new InvalidJobError(name, "input", issuesOf(input.error)).message);
      try {
        const fact = await runWithTimeout(name, timeoutMs, signal, (s) =>
          handler.run(input.data, { signal: s }),
        );
        const checked = enrichment.fact.safeParse(fact);
        if (!checked.success) throw new InvalidJobError(name, "fact", issuesOf(checked.error));
        const ttl = enrichment.ttlFor?.(checked.data) ?? ttlSeconds;
        await writeFact(options.cache, keys, factKey(keys, enrichment, input.data), checked.data, ttl);
        return { subject: enrichment.subject(input.data) };
      } catch (error) {
        if (error instanceof RateLimitedError) {
          const pauseMs = Math.min(Math.max(error.retryAfterMs, 0), MAX_PROVIDER_PAUSE_MS);
          logPaused(error.code)({ code: error.code, pauseMs }, "provider asked for a pause: the queue waits");
          (worker as unknown as EventEmitter).emit(PROVIDER_PAUSE, pauseMs);
          // Every worker of the queue (the limiter's key in Redis); the job back to wait, its attempt unused.
          // Worker.rateLimit is deprecated for BullMQ 6's Queue.rateLimit, the same SET.
          await worker.rateLimit(pauseMs);
          throw Worker.RateLimitError();
        }
        if (error instanceof EnrichmentError && !error.retryable) throw new UnrecoverableError(error.message);
        throw error;
      }
    });

  const worker = new StartingWorker(queueName(enrichment), process, {
    connection: options.connection,
    prefix: bullPrefix(keys.prefix),
    concurrency: options.concurrency ?? enrichment.concurrency ?? DEFAULTS.concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.lockDurationMs ?? 30_000,
    autorun: !isStartingHandler(handler),
    // The handler's rate limit; without one, a limit never reached — with no limiter at all, BullMQ would
    // ignore in the other workers a pause one of them was asked for (RateLimitedError).
    limiter: handler.rateLimit
      ? { max: handler.rateLimit.max, duration: handler.rateLimit.perMs }
      : { max: Number.MAX_SAFE_INTEGER, duration: 1_000 },
  });
  const log = options.log.child({ enrichment: enrichment.name });
  const logPaused = throttledLogPerKey(lineAt(log, "warn"), 5_000);
  if (isStartingHandler(handler))
    worker.startAfter(() => handler.start({ redis: options.cache, keys, log }), log);
  // While Redis is away BullMQ reports every reconnection attempt of each of its connections: one line per
  // kind of error every 5 s, saying how many it stands for.
  const logError = throttledLogPerKey(lineAt(log, "error"), 5_000);
  worker.on("error", (error: Error & { code?: string }) => {
    // A full Redis (maxmemory, noeviction) refuses to hand out jobs: BullMQ tries again every 5 s.
    if (error.message.startsWith("OOM")) logError("OOM")({ err: error }, REDIS_FULL);
    else logError(error.code ?? error.name)({ err: error }, "worker error");
  });
  worker.on("failed", (job, error) =>
    log.warn({ jobId: job?.id, attempt: job?.attemptsMade, reason: error.message }, "enrichment job failed"),
  );
  return worker;
}
