import type { RedisClient } from "@gatehouse/redis";
import { type Job, Queue } from "bullmq";
import type { AnyEnrichment } from "./define-enrichment.js";
import { bullPrefix, deduplicationId, queueName } from "./queue-names.js";

/** Failed jobs read, newest first, to find a subject's last failure. */
const FAILED_SCAN = 1_000;

/** A job as `gatehouse lookup` shows it. */
export interface JobView {
  readonly id: string;
  /** BullMQ's state: waiting, delayed (a retry's backoff), prioritized, active, completed, failed… */
  readonly state: string;
  /** Runs so far, and the runs it has in all. */
  readonly attemptsMade: number;
  readonly attempts: number;
  /** Epoch ms: when it was added, and when it failed for good (failed jobs). */
  readonly addedAt: number;
  readonly finishedAt?: number;
  /** The last run's error, when a run failed. */
  readonly failedReason?: string;
}

/** What the queue holds for one subject. */
export interface SubjectJob {
  /** The job waiting or running for it (at most one: the deduplication id). */
  readonly current?: JobView;
  /** Without a current job: its newest failed job among the newest 1,000 failures kept. */
  readonly lastFailed?: JobView;
}

async function view(job: Job): Promise<JobView> {
  return {
    id: job.id as string,
    state: await job.getState(),
    attemptsMade: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    addedAt: job.timestamp,
    ...(job.finishedOn !== undefined && { finishedAt: job.finishedOn }),
    ...(job.failedReason && { failedReason: job.failedReason }),
  };
}

/**
 * The job of `enrichment` for `input`'s subject, as the ingress' queues hold it: the one waiting or running,
 * else the last that failed — what to look at when a fact never arrives.
 */
export async function subjectJob(
  connection: RedisClient,
  keyPrefix: string,
  enrichment: AnyEnrichment,
  input: unknown,
): Promise<SubjectJob> {
  const subject = enrichment.subject(input);
  const queue = new Queue(queueName(enrichment), { connection, prefix: bullPrefix(keyPrefix) });
  queue.on("error", () => {});
  try {
    const currentId = await queue.getDeduplicationJobId(deduplicationId(enrichment, subject));
    const current = currentId === null ? undefined : await queue.getJob(currentId);
    if (current) return { current: await view(current) };
    const failed = await queue.getFailed(0, FAILED_SCAN - 1);
    const last = failed
      .filter((job) => subjectOf(enrichment, job.data) === subject)
      .sort((a, b) => (b.finishedOn ?? 0) - (a.finishedOn ?? 0))[0];
    return last ? { lastFailed: await view(last) } : {};
  } finally {
    await queue.close();
  }
}

function subjectOf(enrichment: AnyEnrichment, data: unknown): string | undefined {
  try {
    return enrichment.subject(data);
  } catch {
    return undefined;
  }
}
