export {
  type AnyEnrichment,
  defineEnrichment,
  type EnrichmentDefinition,
  type EnrichmentHandler,
  type FactOf,
  type InputOf,
  isStartingHandler,
  type RunContext,
  type StartContext,
  type StartedHandler,
  type StartingHandler,
} from "./define-enrichment.js";
export { type EnqueueResult, Enqueuer, type EnqueuerOptions } from "./enqueuer.js";
export {
  type EnrichmentWorkerOptions,
  enrichmentsTakingJobs,
  onProviderPause,
  startEnrichmentWorker,
  type WorkerState,
  workerState,
} from "./enrichment-worker.js";
export {
  EnrichmentError,
  EnrichmentTimeoutError,
  InvalidJobError,
  RateLimitedError,
} from "./errors/enrichment-error.js";
export { factKey } from "./fact-key.js";
export { enrichmentJobCounts, JOB_STATES, type JobCounts, jobCounts } from "./queue-counts.js";
export { bullPrefix, deduplicationId, jobName, queueName } from "./queue-names.js";
export { retryAfterMs } from "./retry-after.js";
export { commaList, unsetIfEmpty } from "./setting-values.js";
export { DEFAULTS } from "./settings.js";
export { type JobView, type SubjectJob, subjectJob } from "./subject-job.js";
export { warmCache } from "./warm-cache.js";
