// The cold burst: thousands of signups from domains nobody has seen, all at once, with the worker running
// and the trigger's miss policy "wait" (the default PRE_SIGNUP policy: wait up to 1 s for the facts, then
// evaluate). Checks that every request is answered before the deadline, that no more enrichment jobs are
// created than there are distinct subjects, and measures how fast the worker drains them. With
// `holdWorkers`, the queues are paused until every request is answered: then the drain measures the
// workers alone, on a backlog, and not the rate at which the burst reaches them.
import { readFileSync, writeFileSync } from "node:fs";
import { type CacheKeys, cacheKeys } from "@gatehouse/decision-cache";
import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { createRedis, type Redis } from "@gatehouse/redis";
import { Queue } from "bullmq";
import { type CpuDelta, delta, snapshot } from "./cpu.js";
import type { LoadGenerator, RunResult } from "./load.js";
import { increases, scrape } from "./metrics-scrape.js";
import { type LatencySummary, summarize } from "./stats.js";
import { emailDomainKey, ipKey, waitForFacts } from "./warm.js";
import type { BurstWorkload } from "./workload.js";

export interface BurstOptions {
  readonly load: LoadGenerator;
  readonly ingressUrl: string;
  /** The bare route: it gets the same burst first, to tell what TCP and the machine cost from what Gatehouse does. */
  readonly bareUrl?: string;
  readonly redisUrl: string;
  readonly prefix: string;
  readonly secret: string;
  readonly workload: BurstWorkload;
  readonly connections: number;
  /** The ingress' GATEHOUSE_DEADLINE_MS. */
  readonly deadlineMs: number;
  readonly drainTimeoutS: number;
  readonly watch: Readonly<Record<string, number>>;
  /** The enrichments whose facts the burst waits for (default: email-domain and ip-reputation). */
  readonly enrichments?: readonly BurstEnrichment[];
  /** Pause the queues until the whole burst is answered, then resume them and time the drain. */
  readonly holdWorkers?: boolean;
}

export interface BurstResult {
  readonly requests: number;
  readonly distinctSubjects: { readonly domains: number; readonly ips: number };
  readonly load: RunResult;
  /** The same burst at the bare route (its own listen queue overflows counted apart). */
  readonly bareControl?: RunResult & { readonly listenOverflows: number };
  readonly deadlineMs: number;
  /** Answers the load generator saw later than the deadline (queueing before the handler included). */
  readonly lateAnswers: number;
  /** Handshakes the kernel dropped because the ingress' listen queue was full (machine-wide counter). */
  readonly listenOverflows: number;
  /** The ingress' own latency (audit records), from its handler's start to its answer. */
  readonly serverLatency: LatencySummary;
  readonly serverOverDeadline: number;
  /** Audit records by cache outcome: hit, miss (answered without the fact), waited (answered on the announcement). */
  readonly cacheOutcomes: Record<string, number>;
  readonly reasons: Record<string, number>;
  readonly enqueues: Record<string, number>;
  readonly jobs: {
    /** Jobs that ran: a fact announced, or a failure kept; by enrichment. */
    readonly created: Record<string, number>;
    readonly failed: Record<string, number>;
    /** Subjects announced more than once (a job computed twice). */
    readonly duplicates: number;
    /** BullMQ add calls that reached Redis (deduplicated ones included), by enrichment. */
    readonly addCalls: Record<string, number>;
  };
  readonly worker: {
    /** Facts written per second, first to last announcement of the burst's subjects. */
    readonly jobsPerSecond: number;
    /** From the first request (with `holdWorkers`: from the resume) to the last fact written. */
    readonly drainSeconds: number;
    readonly missingAfterDrain: number;
  };
  /**
   * With `holdWorkers`: the jobs waiting when the queues resumed, Redis' memory growth for them (audit
   * excluded), and the watched processes' CPU from the resume until every fact was written.
   */
  readonly backlog?: { readonly jobs: number; readonly bytes: number; readonly drainCpu?: CpuDelta };
}

export type BurstEnrichment = "email-domain" | "ip-reputation";
const ENRICHMENTS_IN_BURST: readonly BurstEnrichment[] = ["email-domain", "ip-reputation"];

/** used_memory of INFO memory, and the audit stream's own MEMORY USAGE. */
async function memoryOutsideAudit(redis: Redis, keys: CacheKeys): Promise<number> {
  const used = Number(/used_memory:(\d+)/.exec(await redis.info("memory"))?.[1]);
  const audit = Number((await redis.memory("USAGE", keys.auditStream)) ?? 0);
  return used - audit;
}

/**
 * The kernel's count of connections refused because a listen queue was full (TcpExt ListenOverflows):
 * each such client retries its handshake after 1 s, then 3 s — latency the ingress never sees.
 */
function listenOverflows(): number {
  const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
  const header = lines.findIndex((line) => line.startsWith("TcpExt:"));
  const names = lines[header]?.split(" ") ?? [];
  const values = lines[header + 1]?.split(" ") ?? [];
  return Number(values[names.indexOf("ListenOverflows")] ?? Number.NaN);
}

async function auditSince(redis: Redis, keys: CacheKeys, since: number) {
  const entries = (await redis.xrange(keys.auditStream, `${since - 2_000}-0`, "+")) as [string, string[]][];
  type AuditEntry = { at: number; ms: number; cache: string; reason: string };
  const records: AuditEntry[] = [];
  for (const [, fields] of entries) {
    const at = fields.indexOf("records");
    if (at < 0) continue;
    for (const record of JSON.parse(fields[at + 1] ?? "[]") as AuditEntry[]) {
      if (record.at >= since) records.push(record);
    }
  }
  return records;
}

export async function coldBurst(options: BurstOptions): Promise<BurstResult> {
  const keys = cacheKeys(options.prefix);
  const redis = createRedis({ url: options.redisUrl }, "bullmq");
  const subscriber = createRedis({ url: options.redisUrl }, "subscriber");
  const enrichments = options.enrichments ?? ENRICHMENTS_IN_BURST;
  const queues = Object.fromEntries(
    enrichments.map((name) => [
      name,
      new Queue(`enrich.${name}`, { connection: redis, prefix: bullPrefix(options.prefix) }),
    ]),
  );
  const { domains, ips } = options.workload;
  const domainKeys = domains.map((domain) => emailDomainKey(keys, domain));
  const ipKeys = enrichments.includes("ip-reputation")
    ? [...new Set(domains.map((_, n) => ips[n % ips.length]!))].map((ip) => ipKey(keys, ip))
    : [];
  const watched = new Map<string, string>([
    ...domainKeys.map((key) => [key, "email-domain"] as const),
    ...ipKeys.map((key) => [key, "ip-reputation"] as const),
  ]);
  const announced = new Map<string, number>();
  let firstAt = Number.POSITIVE_INFINITY;
  let lastAt = 0;
  subscriber.on("message", (_channel: string, message: string) => {
    const key = message.slice(0, message.indexOf("\n"));
    if (!watched.has(key)) return;
    announced.set(key, (announced.get(key) ?? 0) + 1);
    firstAt = Math.min(firstAt, Date.now());
    lastAt = Date.now();
  });
  await subscriber.subscribe(keys.announceChannel);

  const idKey = (name: string) => `${bullPrefix(options.prefix)}:enrich.${name}:id`;
  const failedCount = async () =>
    Object.fromEntries(
      await Promise.all(
        enrichments.map(async (name) => [name, (await queues[name]!.getJobCounts("failed")).failed ?? 0]),
      ),
    ) as Record<string, number>;
  const addCounters = async () =>
    Object.fromEntries(
      await Promise.all(enrichments.map(async (name) => [name, Number((await redis.get(idKey(name))) ?? 0)])),
    ) as Record<string, number>;

  try {
    const [metricsBefore, failedBefore, addsBefore] = [
      await scrape(options.ingressUrl),
      await failedCount(),
      await addCounters(),
    ];
    const burstRun = (label: string, baseUrl: string) =>
      options.load.run({
        label,
        baseUrl,
        pool: { kind: "burst", workload: options.workload },
        secret: options.secret,
        connections: options.connections,
        amount: domains.length,
        warmupS: 0,
        pacing: "smooth",
        watch: options.watch,
        timeoutS: 10,
        countOverMs: options.deadlineMs,
      });
    let bareControl: BurstResult["bareControl"];
    if (options.bareUrl) {
      const controlOverflowsBefore = listenOverflows();
      const control = await burstRun("cold burst, bare route", options.bareUrl);
      bareControl = { ...control, listenOverflows: listenOverflows() - controlOverflowsBefore };
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the sockets of the control close
    }

    const memoryBefore = await memoryOutsideAudit(redis, keys);
    if (options.holdWorkers) await Promise.all(Object.values(queues).map((queue) => queue.pause()));
    const overflowsBefore = listenOverflows();
    const load = await burstRun("cold burst", options.ingressUrl);
    const overflows = listenOverflows() - overflowsBefore;
    let backlog: BurstResult["backlog"];
    let drainFrom = load.startedAt;
    if (options.holdWorkers) {
      const counts = await Promise.all(
        Object.values(queues).map((queue) => queue.getJobCounts("wait", "paused", "prioritized")),
      );
      const jobs = counts.reduce((sum, c) => sum + (c.wait ?? 0) + (c.paused ?? 0) + (c.prioritized ?? 0), 0);
      backlog = { jobs, bytes: (await memoryOutsideAudit(redis, keys)) - memoryBefore };
      drainFrom = Date.now();
      await Promise.all(Object.values(queues).map((queue) => queue.resume()));
    }
    const drainStart = snapshot(options.watch);
    const missingAfterDrain = await waitForFacts(redis, [...watched.keys()], options.drainTimeoutS * 1000);
    if (backlog) backlog = { ...backlog, drainCpu: delta(drainStart, snapshot(options.watch)) };
    await new Promise((resolve) => setTimeout(resolve, 500)); // the last announcements, and the audit flush
    const [metricsAfter, failedAfter, addsAfter] = [
      await scrape(options.ingressUrl),
      await failedCount(),
      await addCounters(),
    ];
    const audit = await auditSince(redis, keys, load.startedAt);

    const created: Record<string, number> = {};
    const failed: Record<string, number> = {};
    const addCalls: Record<string, number> = {};
    for (const name of enrichments) {
      failed[name] = (failedAfter[name] ?? 0) - (failedBefore[name] ?? 0);
      addCalls[name] = (addsAfter[name] ?? 0) - (addsBefore[name] ?? 0);
      created[name] = failed[name]!;
    }
    let duplicates = 0;
    for (const [key, count] of announced) {
      const name = watched.get(key)!;
      created[name] = (created[name] ?? 0) + count;
      if (count > 1) duplicates++;
    }
    // Debugging aid: BENCH_BURST_AUDIT=<file> writes each answer of the burst as the ingress recorded it (its
    // wall-clock time, its own latency, reason and cache outcome), one JSON line each.
    if (process.env.BENCH_BURST_AUDIT) {
      writeFileSync(
        process.env.BENCH_BURST_AUDIT,
        audit.map(({ at, ms, reason, cache }) => JSON.stringify({ at, ms, reason, cache })).join("\n"),
      );
    }
    const cacheOutcomes: Record<string, number> = {};
    for (const record of audit) cacheOutcomes[record.cache] = (cacheOutcomes[record.cache] ?? 0) + 1;
    const serverMs = audit.map((record) => record.ms);
    const announcedCount = [...announced.values()].reduce((sum, count) => sum + count, 0);
    return {
      requests: domains.length,
      distinctSubjects: { domains: domainKeys.length, ips: ipKeys.length },
      load,
      bareControl,
      deadlineMs: options.deadlineMs,
      lateAnswers: load.over ?? 0,
      listenOverflows: overflows,
      serverLatency: summarize(serverMs),
      serverOverDeadline: serverMs.filter((ms) => ms > options.deadlineMs).length,
      cacheOutcomes,
      reasons: increases(metricsBefore, metricsAfter, "gatehouse_decisions_total"),
      enqueues: increases(metricsBefore, metricsAfter, "gatehouse_enqueues_total"),
      jobs: { created, failed, duplicates, addCalls },
      worker: {
        jobsPerSecond: announcedCount / Math.max(0.001, (lastAt - firstAt) / 1000),
        drainSeconds: (lastAt - drainFrom) / 1000,
        missingAfterDrain,
      },
      ...(backlog && { backlog }),
    };
  } finally {
    await Promise.all(Object.values(queues).map((queue) => queue.close()));
    subscriber.disconnect();
    await redis.quit();
  }
}
