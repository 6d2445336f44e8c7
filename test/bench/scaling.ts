// `npm run bench:scaling [-- --quick]`: the figures docs/scaling.md is written from, in a few minutes, on
// loopback only, stopping by itself:
//   1. Redis memory per cached fact, velocity counter, idempotency claim (holding its answer) and audit record;
//   2. the ingress' read on one Redis and on a three-master Redis Cluster: latency and CPU per read;
//   3. the cold burst against 1, 2 and 4 email-domain worker processes: jobs/s, time to drain, and how the
//      ingress answered meanwhile;
//   4. what the after-reply writes cost Redis per request, for each kind of entry (writer-cost.ts).
// Results go to test/bench/results/scaling-<timestamp>/ and, for a full run, test/bench/latest/scaling.md.
//
// Flags: --quick; --no-build; --workers=1,2,4; --burst=N; --burst-connections=N; --only=memory,read,workers,writer;
// --wait-quiet=S (wait up to S seconds, default 120, for other processes to leave the CPUs alone).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateSecret } from "@gatehouse/signature";
import { assertBuilt } from "../support/artifacts.js";
import { ROOT } from "../support/child-process.js";
import { startRedis } from "../support/redis-server.js";
import { type ClusterReadResult, compareClusterRead } from "./cluster-read.js";
import { LoadGenerator } from "./load.js";
import { describeMachine, type Machine, waitForQuiet } from "./machine.js";
import { type MemoryRow, measureRedisMemory } from "./redis-memory.js";
import { burstLines, markdownTable, textTable } from "./report.js";
import { startIngress, startProductionRedis, startProviders } from "./servers.js";
import { buildApps, startSession } from "./session.js";
import { measureWorkerScaling, type WorkerScalingRow } from "./worker-scaling.js";
import { measureWriterCost, type WriterCostRow } from "./writer-cost.js";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    workers: { type: "string", default: "1,2,4" },
    burst: { type: "string" },
    "burst-connections": { type: "string" },
    only: { type: "string", default: "memory,read,workers,writer" },
    "wait-quiet": { type: "string", default: "120" },
  },
});

const PROFILES = {
  quick: {
    name: "quick",
    burst: 1_000,
    burstIps: 50,
    burstConnections: 500,
    drainTimeoutS: 60,
    memoryItems: 2_000,
    reads: 2_000,
    concurrencies: [1, 16],
    writerSeconds: 2,
    writerRounds: 1,
    timeoutS: 240,
  },
  full: {
    name: "full",
    burst: 5_000,
    burstIps: 250,
    burstConnections: 1_000,
    drainTimeoutS: 120,
    memoryItems: 10_000,
    reads: 20_000,
    concurrencies: [1, 8, 64],
    writerSeconds: 4,
    writerRounds: 3,
    timeoutS: 480,
  },
} as const;
const base = PROFILES[flags.quick ? "quick" : "full"];
const profile = {
  ...base,
  burst: flags.burst ? Number(flags.burst) : base.burst,
  burstConnections: flags["burst-connections"] ? Number(flags["burst-connections"]) : base.burstConnections,
  workerCounts: flags.workers.split(",").map(Number),
};
const sections = new Set(flags.only.split(","));
const waitQuietS = Number(flags["wait-quiet"]);
/** Cores used by processes outside the benchmark above which a measurement counts as disturbed. */
const BUSY_CORES = 0.25;
const DEADLINE_MS = 1_500; // the ingress' GATEHOUSE_DEADLINE_MS default
/** After-reply entries a second in the writer section: the full benchmark's fixed rate. */
const WRITER_RATE = 3_000;

const session = startSession({ folderPrefix: "scaling-", timeoutS: profile.timeoutS + 3 * waitQuietS });
const { say, group } = session;

interface ScalingResults {
  readonly startedAt: string;
  readonly durationS: number;
  readonly profile: string;
  readonly options: Record<string, unknown>;
  readonly machine: Machine;
  /** Other processes' cores when each timed section began. */
  readonly quiet: Record<string, { otherCores: number; waitedS: number }>;
  readonly memory?: MemoryRow[];
  readonly clusterRead?: ClusterReadResult;
  readonly workers?: WorkerScalingRow[];
  readonly writer?: WriterCostRow[];
  readonly notes: string[];
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a");

function workerTable(rows: readonly WorkerScalingRow[]): [string[], string[][]] {
  const headers = [
    "workers",
    "mode",
    "jobs",
    "jobs/s",
    "drain s",
    "worker CPU µs/job",
    "worker cores at that rate",
    "cores: workers",
    "ingress",
    "redis",
    "machine",
    "other",
    "ingress answered",
    "over deadline (ingress)",
    "late (client)",
    "errors (client)",
    "cache outcomes",
  ];
  const body = rows.map((row) => [
    String(row.workers),
    row.mode,
    int(row.jobs),
    int(row.burst.worker.jobsPerSecond),
    fixed(row.burst.worker.drainSeconds, 1),
    int(row.workerCpuUsPerJob),
    fixed((row.workerCpuUsPerJob * row.burst.worker.jobsPerSecond) / 1e6, 2),
    fixed(row.workerCores, 2),
    fixed(row.ingressCores, 2),
    fixed(row.redisCores, 2),
    fixed(row.machineCores, 2),
    fixed(row.otherCores, 2),
    `${int(row.burst.serverLatency.count)}/${int(row.burst.requests)}`,
    int(row.burst.serverOverDeadline),
    int(row.burst.lateAnswers),
    int(row.burst.load.errors + row.burst.load.timeouts),
    Object.entries(row.burst.cacheOutcomes)
      .map(([outcome, count]) => `${outcome} ${int(count)}`)
      .join(", "),
  ]);
  return [headers, body];
}

function memoryTable(rows: readonly MemoryRow[]): [string[], string[][]] {
  return [
    ["what", "items", "used_memory growth / item", "MEMORY USAGE / item", "value bytes", "how"],
    rows.map((row) => [
      row.what,
      int(row.items),
      int(row.bytesPerItem),
      int(row.usageBytes),
      row.valueBytes === undefined ? "" : int(row.valueBytes),
      row.note,
    ]),
  ];
}

function readTable(result: ClusterReadResult): [string[], string[][]] {
  return [
    [
      "target",
      "at a time",
      "reads",
      "reads/s",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      "p99.9 ms",
      "max ms",
      "Redis CPU µs/read",
      "client CPU µs/read",
      "other cores",
    ],
    result.rows.map((row) => [
      row.target,
      String(row.concurrency),
      int(row.reads),
      int(row.readsPerSecond),
      fixed(row.latencyMs.p50, 3),
      fixed(row.latencyMs.p90, 3),
      fixed(row.latencyMs.p99, 3),
      fixed(row.latencyMs.p999, 3),
      fixed(row.latencyMs.max, 2),
      fixed(row.redisCpuUs, 1),
      fixed(row.clientCpuUs, 1),
      fixed(row.otherCores, 2),
    ]),
  ];
}

function format(results: ScalingResults, table: (headers: string[], body: string[][]) => string): string {
  const m = results.machine;
  const out = [
    `## Gatehouse scaling figures — ${results.profile} profile, ${results.startedAt}`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, Linux ${m.kernel}; Node ${m.node}; Redis ${m.redis}; commit ${m.gitCommit}  `,
    `options: ${Object.entries(results.options)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("/") : String(v)}`)
      .join(", ")}  `,
    `quiet machine: other processes used ${Object.entries(results.quiet)
      .map(([section, q]) => `${q.otherCores.toFixed(2)} cores before "${section}" (waited ${q.waitedS} s)`)
      .join(
        ", ",
      )}; each row's "other" column is the same measured over that row (/proc/stat minus the watched processes).`,
  ];
  if (results.memory) {
    out.push(
      "",
      "### Redis memory per item",
      "A Redis of its own (no persistence), written the way the processes write: facts with `writeFacts`, counters with the read's counter script, claims holding their answers and audit records with `AfterReplyWriter` (records made by the ingress' `auditRecord`). used_memory growth: INFO memory's used_memory after − before, / items, each kind written into a database of its own from empty (key, value, expiry, allocator overhead and the keyspace's hash tables, amortized); MEMORY USAGE: `MEMORY USAGE key SAMPLES 0`, averaged over ~200 keys, or the stream's one key / its items.",
      "",
      table(...memoryTable(results.memory)),
    );
  }
  if (results.clusterRead) {
    const r = results.clusterRead;
    out.push(
      "",
      "### The read: one Redis vs a 3-master Redis Cluster",
      `The same \`DecisionCache.read\` the ingress runs per request — claim the interceptor id, GET 3 facts (email-domain, ip-reputation, user-claims), count 1 velocity counter — through the ingress' connection profile, from this process, against Redis servers started for it on loopback (no persistence). One Redis: one Lua script. Cluster: ${r.commandsPerRead} single-slot commands in one parallel wave, touching ${r.nodesPerRead.toFixed(2)} of the 3 masters on average. CPU per read from /proc (Redis: the sum over its processes).`,
      "",
      table(...readTable(r)),
    );
  }
  if (results.workers) {
    out.push(
      "",
      "### Worker throughput by worker processes (email-domain queue, cold burst)",
      "Built worker processes (`node apps/worker/dist/main.js`, `GATEHOUSE_ENRICHMENTS=email-domain`, concurrency 64 each) beside the built ingress, Redis with AOF, the stub DNS provider at 50 ms and the load generator — all on this machine's cores. Each burst: new domains, known IPs (their facts written first), one request per domain, PRE_SIGNUP with the default policy (wait up to 1 s for a missing fact). **live**: the workers run while the burst arrives; jobs/s from the first to the last fact written, drain from the first request. **held**: the queue is paused until every request is answered (so every answer is a miss), then resumed; jobs/s and drain are the workers' alone on that backlog. worker CPU per job and the cores columns: live, from the first request to the last fact; held, over the drain alone (from the resume to the last fact). worker cores at that rate: CPU per job × jobs/s.",
      "",
      table(...workerTable(results.workers)),
    );
    for (const row of results.workers) {
      out.push(
        "",
        `${row.workers} worker(s), ${row.mode}:`,
        ...burstLines(row.burst).map((line) => `- ${line}`),
      );
    }
  }
  if (results.writer) {
    out.push(
      "",
      "### After the reply: Redis CPU per request",
      `\`AfterReplyWriter\` as the ingress runs it (flush every 20 ms or at 64 entries), fed ${WRITER_RATE.toLocaleString("en-US")} entries a second shaped as the ingress makes them (PRE_SIGNUP, two facts explained, 5% DENY with a message), against a Redis with production persistence (AOF, fsync every second); each kind alone, kinds taking turns. Redis CPU from /proc over each window, per entry; median over the rounds.`,
      "",
      table(
        ["entry", "entries a round", "Redis µs / entry", "rounds"],
        results.writer.map((row) => [
          row.kind,
          row.entries.toLocaleString("en-US"),
          row.redisUsPerEntry.toFixed(1),
          row.rounds.map((value) => value.toFixed(1)).join(", "),
        ]),
      ),
    );
  }
  if (results.notes.length > 0) out.push("", "### Notes", ...results.notes.map((note) => `- ${note}`));
  return `${out.join("\n")}\n`;
}

async function quietBefore(section: string, quiet: ScalingResults["quiet"], notes: string[]) {
  const measured = await waitForQuiet(waitQuietS, BUSY_CORES, say);
  quiet[section] = measured;
  if (measured.otherCores >= BUSY_CORES)
    notes.push(
      `"${section}" began while other processes kept ${measured.otherCores.toFixed(2)} cores busy (after waiting ${measured.waitedS} s): its figures are disturbed.`,
    );
}

async function main(): Promise<ScalingResults> {
  const machine = describeMachine();
  const quiet: ScalingResults["quiet"] = {};
  const notes: string[] = [];
  say(`${profile.name} profile; results in ${session.resultsDir}`);
  let memory: MemoryRow[] | undefined;
  if (sections.has("memory")) {
    const redis = await startRedis();
    try {
      memory = await measureRedisMemory(redis.url, profile.memoryItems);
    } finally {
      await redis.stop();
    }
    say(`memory: ${memory.map((row) => `${row.what} ${Math.round(row.bytesPerItem)} B`).join("; ")}`);
  }

  let clusterRead: ClusterReadResult | undefined;
  if (sections.has("read")) {
    await quietBefore("read", quiet, notes);
    clusterRead = await compareClusterRead({
      group,
      say,
      reads: profile.reads,
      concurrencies: profile.concurrencies,
    });
  }

  let workers: WorkerScalingRow[] | undefined;
  if (sections.has("workers")) {
    assertBuilt();
    const prefix = `scale${session.stamp.slice(11, 19).replace(/\D/g, "")}`;
    const secret = generateSecret();
    const { redis, redisPid } = await startProductionRedis(group);
    try {
      const providers = await startProviders({ group, providerLatencyMs: 50 });
      const app = { group, secret, prefix, logLevel: "info" };
      const ingress = await startIngress(app, redis.url);
      const load = LoadGenerator.start(join(session.logDir, "load-generator.log"));
      session.load = load;
      await quietBefore("workers", quiet, notes);
      workers = await measureWorkerScaling({
        ...app,
        say,
        load,
        ingress,
        providers,
        redisUrl: redis.url,
        redisPid,
        burst: profile.burst,
        burstIps: profile.burstIps,
        connections: Math.min(profile.burstConnections, profile.burst),
        deadlineMs: DEADLINE_MS,
        drainTimeoutS: profile.drainTimeoutS,
        workerCounts: profile.workerCounts,
        runId: session.stamp.toLowerCase().replace(/[^a-z0-9]/g, ""),
      });
      notes.push(
        `${machine.cores} cores carry everything here: the ingress, Redis, the stub DNS server, the load generator and every worker process. Past the point where the machine is busy (see the "machine" column), more worker processes only share the same cores.`,
      );
    } finally {
      session.load?.close();
      await group.stopAll();
      await redis.stop();
    }
  }
  let writer: WriterCostRow[] | undefined;
  if (sections.has("writer")) {
    const { redis, redisPid } = await startProductionRedis(group);
    try {
      await quietBefore("writer", quiet, notes);
      writer = await measureWriterCost({
        redisUrl: redis.url,
        redisPid,
        ratePerS: WRITER_RATE,
        seconds: profile.writerSeconds,
        rounds: profile.writerRounds,
      });
    } finally {
      await redis.stop();
    }
    say(
      `writer: ${writer.map((row) => `${row.redisUsPerEntry.toFixed(1)} µs`).join("; ")} of Redis per entry`,
    );
  }
  return {
    startedAt: session.startedAt.toISOString(),
    durationS: session.seconds(),
    profile: profile.name,
    options: {
      burst: profile.burst,
      burstIps: profile.burstIps,
      burstConnections: profile.burstConnections,
      workers: profile.workerCounts,
      memoryItems: profile.memoryItems,
      reads: profile.reads,
      concurrencies: profile.concurrencies,
      providerLatencyMs: 50,
      writerRate: WRITER_RATE,
      writerSeconds: profile.writerSeconds,
      writerRounds: profile.writerRounds,
      sections: [...sections],
    },
    machine,
    quiet,
    ...(memory && { memory }),
    ...(clusterRead && { clusterRead }),
    ...(workers && { workers }),
    ...(writer && { writer }),
    notes,
  };
}

if (!flags["no-build"] && sections.has("workers")) buildApps(session);
let exitCode = 0;
try {
  const results = await main();
  const disturbed = [
    ...(results.clusterRead?.rows ?? []).map((row) => ({
      what: `${row.target}, ${row.concurrency} at a time`,
      other: row.otherCores,
    })),
    ...(results.workers ?? []).map((row) => ({
      what: `${row.workers} worker(s), ${row.mode}`,
      other: row.otherCores,
    })),
  ].filter((row) => row.other >= BUSY_CORES);
  for (const row of disturbed)
    results.notes.push(`DISTURBED: other processes used ${row.other.toFixed(2)} cores during "${row.what}".`);
  const markdown = format(results, markdownTable);
  writeFileSync(join(session.resultsDir, "scaling.json"), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(session.resultsDir, "scaling.md"), markdown);
  writeFileSync(join(ROOT, "test/bench/results/scaling-latest.md"), markdown);
  // A full, undisturbed run of every section is kept in the repository (test/bench/results/ is ignored).
  if (results.profile === "full" && sections.size === 4) {
    if (disturbed.length === 0) {
      mkdirSync(join(ROOT, "test/bench/latest"), { recursive: true });
      writeFileSync(join(ROOT, "test/bench/latest/scaling.md"), markdown);
    } else
      say(`${disturbed.length} measurements were disturbed: test/bench/latest/scaling.md left as it was`);
  }
  console.log(`\n${format(results, textTable)}`);
  console.log(`results: ${join(session.resultsDir, "scaling.json")}, scaling.md; logs in ${session.logDir}`);
} catch (error) {
  exitCode = 1;
  console.error(
    `\nbench:scaling failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  console.error(`logs: ${session.logDir}`);
  session.load?.close();
  await group.stopAll(3_000);
} finally {
  session.done();
}
process.exit(exitCode);
