import type { AnyEnrichment } from "./define-enrichment.js";

/** One queue per enrichment, so each scales on its own backlog: `enrich.email-domain`. */
export const queueName = (enrichment: AnyEnrichment) => `enrich.${enrichment.name}`;

/** Versioned job name: a worker only runs jobs whose version it knows. */
export const jobName = (enrichment: AnyEnrichment) => `enrich.${enrichment.name}.v${enrichment.version}`;

/**
 * BullMQ's key prefix, under Gatehouse's own: `gh:{bull}`. The braces are a Redis Cluster hash tag — BullMQ's
 * scripts touch several keys of a queue at once, so they must share one slot.
 */
export const bullPrefix = (keyPrefix: string) => `${keyPrefix}:{bull}`;

/**
 * A subject's BullMQ deduplication id: while its job waits or runs, adding another for the same subject (from
 * any process) returns that job.
 */
export const deduplicationId = (enrichment: AnyEnrichment, subject: string) =>
  `${enrichment.name}.v${enrichment.version}:${subject}`;
