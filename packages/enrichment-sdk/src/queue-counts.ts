import type { RedisClient } from "@gatehouse/redis";
import { Queue } from "bullmq";
import type { AnyEnrichment } from "./define-enrichment.js";
import { bullPrefix, queueName } from "./queue-names.js";

/** The job states a queue's backlog is read in: what waits, what runs, what waits out a retry's backoff. */
export const JOB_STATES = ["waiting", "prioritized", "active", "delayed", "failed"] as const;
export type JobCounts = Record<(typeof JOB_STATES)[number], number>;

/** `queue`'s jobs by state (JOB_STATES), in one round trip; only those (BullMQ adds "paused" to "waiting"). */
export async function jobCounts(queue: Queue): Promise<JobCounts> {
  const counts = await queue.getJobCounts(...JOB_STATES);
  return Object.fromEntries(JOB_STATES.map((state) => [state, counts[state] ?? 0])) as JobCounts;
}

/** The jobs of `enrichment`'s queue by state, read once (a Queue opened and closed for it). */
export async function enrichmentJobCounts(
  connection: RedisClient,
  keyPrefix: string,
  enrichment: AnyEnrichment,
): Promise<JobCounts> {
  const queue = new Queue(queueName(enrichment), { connection, prefix: bullPrefix(keyPrefix) });
  queue.on("error", () => {});
  try {
    return await jobCounts(queue);
  } finally {
    await queue.close();
  }
}
