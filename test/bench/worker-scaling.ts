// How enrichment throughput scales with worker processes on one queue: the cold burst (new email domains,
// known IPs) against 1, 2, 4… built workers serving email-domain only, each count twice — live (the
// workers run while the burst arrives: what the ingress answers) and held (the queue paused until every
// request is answered, then resumed: the workers alone, on a backlog).
import { cacheKeys, writeFacts } from "@gatehouse/decision-cache";
import { createRedis } from "@gatehouse/redis";
import { type BurstResult, coldBurst } from "./cold-burst.js";
import { delta, otherCores, snapshot } from "./cpu.js";
import type { LoadGenerator } from "./load.js";
import type { Managed, ProcessGroup } from "./processes.js";
import { ipReputationFact, ttlSeconds } from "./sample-facts.js";
import { type Providers, spawnWorker, workersListening } from "./servers.js";
import { makeBurstWorkload } from "./workload.js";

export type BurstMode = "live" | "held";

export interface WorkerScalingOptions {
  readonly group: ProcessGroup;
  readonly say: (line: string) => void;
  readonly load: LoadGenerator;
  readonly ingress: Managed & { readonly url: string };
  readonly providers: Providers;
  readonly redisUrl: string;
  readonly redisPid: number;
  readonly secret: string;
  readonly prefix: string;
  readonly logLevel: string;
  /** Distinct new domains per burst, distinct (known) IPs among them, and client connections. */
  readonly burst: number;
  readonly burstIps: number;
  readonly connections: number;
  readonly deadlineMs: number;
  readonly drainTimeoutS: number;
  readonly workerCounts: readonly number[];
  /** Makes each burst's domains unique to this run. */
  readonly runId: string;
}

export interface WorkerScalingRow {
  readonly workers: number;
  readonly mode: BurstMode;
  readonly burst: BurstResult;
  /** Email-domain jobs that ran (facts announced, failures kept). */
  readonly jobs: number;
  /**
   * CPU of the workers per job, and cores used — live: from before the burst to the last fact; held: from
   * the resume to the last fact (the drain alone).
   */
  readonly workerCpuUsPerJob: number;
  readonly workerCores: number;
  readonly ingressCores: number;
  readonly redisCores: number;
  readonly machineCores: number;
  readonly otherCores: number;
}

const ENRICHMENT = "email-domain";

export async function measureWorkerScaling(options: WorkerScalingOptions): Promise<WorkerScalingRow[]> {
  const keys = cacheKeys(options.prefix);
  const rows: WorkerScalingRow[] = [];
  const redis = createRedis({ url: options.redisUrl }, "bullmq");
  const app = {
    group: options.group,
    secret: options.secret,
    prefix: options.prefix,
    logLevel: options.logLevel,
  };
  try {
    for (const count of options.workerCounts) {
      const workers = Array.from({ length: count }, (_, i) =>
        spawnWorker(
          app,
          options.redisUrl,
          { GATEHOUSE_DNS_SERVERS: options.providers.dns, GATEHOUSE_ENRICHMENTS: ENRICHMENT },
          `worker-${count}-${i + 1}`,
        ),
      );
      await workersListening(options.redisUrl, options.prefix, workers, [ENRICHMENT]);
      options.say(`${count} email-domain worker process(es) listening`);
      for (const mode of ["live", "held"] as const) {
        const workload = makeBurstWorkload(
          `${options.runId}w${count}${mode}`,
          options.burst,
          options.burstIps,
        );
        // The IPs are known: only the domains are new, so the burst loads the email-domain queue alone.
        await writeFacts(
          redis,
          workload.ips.map((ip) => ipReputationFact(keys, ip)),
          ttlSeconds("ip-reputation"),
        );
        const watch = {
          ingress: options.ingress.pid,
          redis: options.redisPid,
          providers: options.providers.pid,
          orchestrator: process.pid,
          loadgen: options.load.pid,
          ...Object.fromEntries(workers.map((worker) => [worker.name, worker.pid])),
        };
        const before = snapshot(watch);
        const burst = await coldBurst({
          load: options.load,
          ingressUrl: options.ingress.url,
          redisUrl: options.redisUrl,
          prefix: options.prefix,
          secret: options.secret,
          workload,
          connections: options.connections,
          deadlineMs: options.deadlineMs,
          drainTimeoutS: options.drainTimeoutS,
          watch,
          enrichments: [ENRICHMENT],
          holdWorkers: mode === "held",
        });
        const cpu = burst.backlog?.drainCpu ?? delta(before, snapshot(watch));
        const workerSeconds = workers.reduce((sum, worker) => sum + (cpu.byName[worker.name] ?? 0), 0);
        const jobs = burst.jobs.created[ENRICHMENT] ?? 0;
        const row: WorkerScalingRow = {
          workers: count,
          mode,
          burst,
          jobs,
          workerCpuUsPerJob: (workerSeconds * 1e6) / Math.max(1, jobs),
          workerCores: workerSeconds / cpu.seconds,
          ingressCores: (cpu.byName.ingress ?? 0) / cpu.seconds,
          redisCores: (cpu.byName.redis ?? 0) / cpu.seconds,
          machineCores: cpu.machineCores,
          otherCores: otherCores(cpu),
        };
        rows.push(row);
        options.say(
          `${count} worker(s), ${mode}: ${jobs} jobs, ${burst.worker.jobsPerSecond.toFixed(0)} jobs/s, drained in ` +
            `${burst.worker.drainSeconds.toFixed(1)} s, ${row.workerCpuUsPerJob.toFixed(0)} µs of worker CPU per job; ` +
            `ingress answered ${burst.serverLatency.count}, ${burst.serverOverDeadline} over the deadline, ` +
            `cache ${JSON.stringify(burst.cacheOutcomes)}; other cores ${row.otherCores.toFixed(2)}`,
        );
      }
      for (const worker of workers) worker.child.kill("SIGTERM");
      await Promise.all(workers.map((worker) => worker.exited));
    }
  } finally {
    await redis.quit();
  }
  return rows;
}
