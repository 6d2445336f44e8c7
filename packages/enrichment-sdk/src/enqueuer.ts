import { randomUUID } from "node:crypto";
import type { RedisClient } from "@gatehouse/redis";
import { Queue } from "bullmq";
import type { AnyEnrichment } from "./define-enrichment.js";
import { bullPrefix, deduplicationId, jobName, queueName } from "./queue-names.js";
import { DEFAULTS } from "./settings.js";

export type EnqueueResult = "added" | "deduplicated" | "failed";

const DEDUPLICATED: Promise<EnqueueResult> = Promise.resolve("deduplicated");

/** BullMQ adds started per turn of the event loop. */
const ADDS_PER_TURN = 32;

type PendingAdd = {
  readonly enrichment: AnyEnrichment;
  readonly data: unknown;
  readonly dedupId: string;
  readonly resolve: (result: EnqueueResult) => void;
};

export interface EnqueuerOptions {
  /** A connection that fails fast (the ingress' request-path profile). */
  connection: RedisClient;
  keyPrefix: string;
  /**
   * How long this process sends no add for a subject it asked for, even after its job finished or failed (a
   * failing provider is asked at most once per dedupMs per process). Default: 30 s.
   */
  dedupMs?: number;
}

/**
 * The ingress' side of the queues: asks for a fact to be computed. A subject has at most one job waiting or
 * running: concurrent calls in this process share one `add`, later ones within `dedupMs` send none, and
 * BullMQ's deduplication id (the subject, until its job completes or fails) covers the other processes and
 * any time a job waits. Never throws: a failed enqueue is a result.
 *
 * The adds start a few at a time, one batch per turn of the event loop: a BullMQ add costs the ingress
 * ~50-100 µs, and the misses of a cold burst asked for 10,000 of them within a second — done at once, in the
 * continuations of the reads, they held the event loop for hundreds of milliseconds while answers were due.
 */
export class Enqueuer {
  readonly #queues = new Map<string, Queue>();
  readonly #inFlight = new Map<string, Promise<EnqueueResult>>();
  /**
   * Subjects added from here, with the add's time + dedupMs, in the order added: until then no add is sent.
   * A fact past its refresh time is asked for by every request that reads it until the worker's new value
   * arrives — at 3,000 req/s, thousands of adds (a BullMQ script each, in the ingress and in Redis) for a
   * few jobs. Once the job is over, another process may add the subject at once; this one waits out its
   * dedupMs.
   */
  readonly #added = new Map<string, number>();
  #pending: PendingAdd[] = [];
  #turn: NodeJS.Immediate | undefined;
  readonly #dedupMs: number;

  constructor(private readonly options: EnqueuerOptions) {
    this.#dedupMs = options.dedupMs ?? 30_000;
  }

  enqueue(enrichment: AnyEnrichment, input: unknown): Promise<EnqueueResult> {
    // The subject first, as the ingress' fact key takes it (an input's schema checks it, never changes it):
    // a subject asked for lately costs a lookup, not a validation — a fact past its refresh time is asked
    // for by every request that reads it until the new value arrives.
    let dedupId: string;
    try {
      dedupId = deduplicationId(enrichment, enrichment.subject(input));
    } catch {
      return Promise.resolve("failed"); // not an input of this enrichment
    }
    if ((this.#added.get(dedupId) ?? 0) > Date.now()) return DEDUPLICATED;
    const pending = this.#inFlight.get(dedupId);
    if (pending) return pending.then((result) => (result === "failed" ? "failed" : "deduplicated"));
    const parsed = enrichment.input.safeParse(input);
    if (!parsed.success) return Promise.resolve("failed");
    // BullMQ waits for a connection that is not ready without a limit; the next miss asks again instead.
    if (this.options.connection.status !== "ready") return Promise.resolve("failed");
    const added = new Promise<EnqueueResult>((resolve) =>
      this.#pending.push({ enrichment, data: parsed.data, dedupId, resolve }),
    ).finally(() => this.#inFlight.delete(dedupId));
    this.#inFlight.set(dedupId, added);
    this.#turn ??= setImmediate(() => this.#startAdds(ADDS_PER_TURN));
    return added;
  }

  /** Waits up to `timeoutMs` for enqueues in flight (an add waits for Redis without a limit), then closes. */
  async close(timeoutMs = 2_000): Promise<void> {
    this.#startAdds(Number.POSITIVE_INFINITY);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.#inFlight.values()]), timeout]);
    clearTimeout(timer);
    await Promise.allSettled([...this.#queues.values()].map((queue) => queue.close()));
  }

  /** Starts up to `count` of the adds waiting; the rest wait for the next turn. */
  #startAdds(count: number): void {
    clearImmediate(this.#turn);
    this.#turn = undefined;
    const now = this.#pending.splice(0, count);
    if (this.#pending.length > 0) this.#turn = setImmediate(() => this.#startAdds(ADDS_PER_TURN));
    for (const { enrichment, data, dedupId, resolve } of now) {
      if (this.options.connection.status !== "ready") {
        resolve("failed");
        continue;
      }
      const retry = enrichment.retry ?? DEFAULTS.retry;
      // An id of its own, so the answer says whether this add made the job: where BullMQ deduplicated it
      // (another process' job came first), the job it returns is that one.
      const jobId = randomUUID();
      this.#queue(enrichment)
        .add(jobName(enrichment), data, {
          jobId,
          // No ttl: the id holds while the job waits or runs, however long. With one (BullMQ's throttle
          // mode), a backlog longer than it made a second job for every subject asked for again meanwhile,
          // and with no worker for the queue, a new job per subject every ttl, without end.
          deduplication: { id: dedupId },
          attempts: retry.attempts,
          backoff: { type: "exponential", delay: retry.backoffMs },
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 7 * 86_400, count: 10_000 },
        })
        .then(
          (job) => {
            this.#remember(dedupId);
            resolve(job.id === jobId ? "added" : "deduplicated");
          },
          () => resolve("failed"),
        );
    }
  }

  /** Remembers an added subject for dedupMs, and forgets those whose time is up (the oldest come first). */
  #remember(dedupId: string): void {
    const now = Date.now();
    for (const [id, until] of this.#added) {
      if (until > now) break;
      this.#added.delete(id);
    }
    this.#added.delete(dedupId);
    this.#added.set(dedupId, now + this.#dedupMs);
  }

  #queue(enrichment: AnyEnrichment): Queue {
    const name = queueName(enrichment);
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.options.connection,
        prefix: bullPrefix(this.options.keyPrefix),
      });
      // Errors surface through each add's result; this listener keeps them from being unhandled.
      queue.on("error", () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }
}
