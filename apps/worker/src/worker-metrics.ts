import { JOB_STATES, onProviderPause, workerState } from "@gatehouse/enrichment-sdk";
import { Counter, Gauge, Histogram, type Registry } from "@gatehouse/telemetry";
import type { Job } from "bullmq";
import type { RunningWorkers } from "./start-workers.js";

/** A scrape waits this long for the queues' counts; past it the backlog gauges are left out. */
const COUNTS_TIMEOUT_MS = 1_000;

/**
 * The worker's own metrics, beside the process' defaults: jobs by outcome, how long the completed ones took,
 * and each queue's backlog read from Redis at scrape time — what an operator scales the workers on, and
 * what shows a queue nobody takes jobs from.
 */
export function observeWorkers(registry: Registry, running: RunningWorkers): void {
  const jobs = new Counter({
    name: "gatehouse_enrichment_jobs_total",
    help: "Enrichment job attempts by outcome: completed; retried (failed, to be run again after a backoff); failed (no attempt left, or not worth retrying); paused (the provider asked for a pause: the queue waits, the job keeps its attempts)",
    labelNames: ["enrichment", "result"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "gatehouse_enrichment_job_duration_seconds",
    help: "Time a completed enrichment job took, from its start to its fact written",
    labelNames: ["enrichment"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  for (const [enrichment, worker] of running.workers) {
    worker.on("completed", (job: Job) => {
      jobs.inc({ enrichment, result: "completed" });
      if (job.processedOn && job.finishedOn)
        duration.observe({ enrichment }, (job.finishedOn - job.processedOn) / 1_000);
    });
    // BullMQ sets finishedOn only when the job leaves for good; an attempt to be retried has none.
    worker.on("failed", (job: Job | undefined) =>
      jobs.inc({ enrichment, result: job && !job.finishedOn ? "retried" : "failed" }),
    );
    onProviderPause(worker, () => jobs.inc({ enrichment, result: "paused" }));
  }

  new Gauge({
    name: "gatehouse_enrichment_worker_running",
    help: "1 while this process' worker for the enrichment takes jobs, 0 while it starts, closes or has stopped",
    labelNames: ["enrichment"] as const,
    registers: [registry],
    collect() {
      for (const [enrichment, worker] of running.workers)
        this.set({ enrichment }, workerState(worker) === "running" ? 1 : 0);
    },
  });
  new Gauge({
    name: "gatehouse_enrichment_queue_jobs",
    help: "Jobs in each enrichment queue by state, read from Redis at scrape time (absent when Redis did not answer within 1 s)",
    labelNames: ["enrichment", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await running.jobCounts(COUNTS_TIMEOUT_MS);
      for (const [enrichment, byState] of counts ?? []) {
        for (const state of JOB_STATES) this.set({ enrichment, state }, byState[state] ?? 0);
      }
    },
  });
}
