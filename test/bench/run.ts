// `npm run bench [-- --quick]`: builds the apps, boots Redis, the ingress and a worker as production runs
// them (plus the bare route, the hand-written endpoint and the stub providers), warms the cache, then drives
// the same load at each server in turn from a separate load-generator process, and reports.
//
// Flags: --quick (about two minutes) | full (default, about six minutes); --no-build; --no-burst;
// --profile (CPU profile of the ingress; skips the burst); --rate=N; --connections=N;
// --provider-latency=MS (default 50); --burst=N; --burst-connections=N; --pacing=smooth|autocannon; --log-level=LEVEL;
// --wait-quiet=S (wait up to S seconds, default 120, for other processes to leave the CPUs alone);
// --ingress-env=NAME=VALUE (repeatable: more environment for the ingress, e.g. GATEHOUSE_LOCAL_FACTS_MS=0);
// --ingress-node-arg=ARG (repeatable: a node option for the ingress, e.g. --trace-gc; its log is in logs/).
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cacheKeys } from "@gatehouse/decision-cache";
import { createRedis } from "@gatehouse/redis";
import { generateSecret } from "@gatehouse/signature";
import { rewriteIfGrown } from "./aof-rewrites.js";
import { type BurstResult, coldBurst } from "./cold-burst.js";
import { LoadGenerator } from "./load.js";
import { describeMachine, waitForQuiet } from "./machine.js";
import { type MemoryResult, RssSampler } from "./memory.js";
import { gcTotals, increases, scrape } from "./metrics-scrape.js";
import { writeResults } from "./output.js";
import { formatProfile, type ProfileSummary, summarizeProfile } from "./profile.js";
import { handWrittenConnections, PROFILES } from "./profiles.js";
import { type BenchResults, boundOf, formatText, type ThroughputNote } from "./report.js";
import type { BenchTrigger } from "./requests.js";
import { type BenchServers, parseIngressEnv, startServers } from "./servers.js";
import { buildApps, startSession } from "./session.js";
import { computeRatios, evaluateTargets } from "./targets.js";
import { type WarmReport, warmSessions, warmSignups } from "./warm.js";
import {
  aggregate,
  describeCounters,
  type ScenarioName,
  type ServerName,
  toWindow,
  type WindowResult,
} from "./windows.js";
import { makeBurstWorkload, makeWorkload } from "./workload.js";

const { values: flags } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    burst: { type: "string" },
    "burst-connections": { type: "string" },
    "no-burst": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    rate: { type: "string" },
    connections: { type: "string" },
    "provider-latency": { type: "string", default: "50" },
    pacing: { type: "string", default: "smooth" },
    "log-level": { type: "string", default: "info" },
    "wait-quiet": { type: "string", default: "120" },
    "ingress-env": { type: "string", multiple: true, default: [] },
    "ingress-node-arg": { type: "string", multiple: true, default: [] },
  },
});
const ingressEnv = parseIngressEnv(flags["ingress-env"] ?? []);

const base = PROFILES[flags.quick ? "quick" : "full"];
const profile = {
  ...base,
  fixedRate: flags.rate ? Number(flags.rate) : base.fixedRate,
  connections: flags.connections ? Number(flags.connections) : base.connections,
  burst: flags.burst ? Number(flags.burst) : base.burst,
  burstConnections: flags["burst-connections"] ? Number(flags["burst-connections"]) : base.burstConnections,
};
const providerLatencyMs = Number(flags["provider-latency"]);
const pacing = flags.pacing === "autocannon" ? "autocannon" : "smooth";
const runBurst = !flags["no-burst"] && !flags.profile && profile.burst > 0;
const SLOW_PROVIDERS_MS = 2_000;
const DEADLINE_MS = 1_500; // the ingress' GATEHOUSE_DEADLINE_MS default
/** Cores used by processes outside the benchmark, or taken by the host, above which a window counts as disturbed. */
const BUSY_CORES = 0.25;

const session = startSession({ timeoutS: profile.globalTimeoutS + Number(flags["wait-quiet"]) });
const { startedAt, stamp, resultsDir, logDir, group, say } = session;
const profileDir = flags.profile ? join(resultsDir, "profiles") : undefined;
let servers: BenchServers | undefined;

if (!flags["no-build"]) buildApps(session);

const machine = describeMachine();
const secret = generateSecret();
const prefix = `bench${randomBytes(3).toString("hex")}`;
let workload = makeWorkload(profile.workload);
const windows: WindowResult[] = [];
const notes: string[] = [];

async function main(): Promise<BenchResults> {
  say(`${profile.name} profile; results in ${resultsDir}`);
  say(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, Redis ${machine.redis}`);
  const quiet = await waitForQuiet(Number(flags["wait-quiet"]), BUSY_CORES, say);
  if (quiet.otherCores >= BUSY_CORES) {
    notes.push(
      `other processes kept ${quiet.otherCores.toFixed(2)} cores busy when the run started (after waiting ${quiet.waitedS} s): every figure is disturbed; rows are marked where it happened.`,
    );
  }
  servers = await startServers({
    group,
    workDir: resultsDir,
    secret,
    prefix,
    providerLatencyMs: 0,
    blocklisted: workload.blocklisted,
    logLevel: flags["log-level"] ?? "info",
    profileDir,
    ingressEnv,
    ingressNodeArgs: flags["ingress-node-arg"] ?? [],
  });
  const s = servers;
  const load = LoadGenerator.start(join(logDir, "load-generator.log"));
  session.load = load;
  say(
    `up: ingress ${s.ingress.url}, worker, redis ${s.redis.url}, bare ${s.bare.url}, hand-written ${s.handWritten.url}`,
  );

  // Warms the cache, then compacts Redis' append-only file between windows (aof-rewrites.ts).
  const redis = createRedis({ url: s.redis.url }, "bullmq");
  const warmOptions = () => ({
    url: s.ingress.url,
    secret,
    redis,
    keys: cacheKeys(prefix),
    workload,
    timeoutMs: 60_000,
  });
  const warms: WarmReport[] = [];
  const warmed = (report: WarmReport) => {
    warms.push(report);
    say(
      `cache warm (${report.trigger}): ${report.requests} requests, ${JSON.stringify(report.facts)} in ${report.seconds.toFixed(1)} s`,
    );
  };
  const signups = await warmSignups(warmOptions());
  workload = signups.workload;
  if (signups.disposableMissing.length > 0)
    notes.push(`not on the disposable list, dropped: ${signups.disposableMissing.join(", ")}`);
  warmed(signups.report);
  await s.providers.setDelay(providerLatencyMs);

  const watch = {
    ingress: s.ingress.pid,
    redis: s.redisPid,
    worker: s.worker.pid,
    bare: s.bare.pid,
    "hand-written": s.handWritten.pid,
    providers: s.providers.pid,
  };
  const urls: Record<ServerName, string> = {
    bare: s.bare.url,
    gatehouse: s.ingress.url,
    "hand-written": s.handWritten.url,
  };
  const handConnections = handWrittenConnections(profile.fixedRate, providerLatencyMs, profile.connections);
  let seed = 1;
  const rewriteBetweenWindows = async () => {
    const seconds = await rewriteIfGrown(redis);
    if (seconds !== undefined)
      say(`Redis' append-only file rewritten between windows (${seconds.toFixed(1)} s)`);
  };
  const measure = async (
    scenario: ScenarioName,
    server: ServerName,
    round: number,
    spec: {
      trigger: BenchTrigger;
      rate?: number;
      connections: number;
      durationS?: number;
      amount?: number;
      pacing?: "smooth" | "autocannon";
    },
  ) => {
    await rewriteBetweenWindows();
    const counters = server === "gatehouse" ? await scrape(s.ingress.url) : undefined;
    const run = await load.run({
      label: `${scenario} ${server} #${round}`,
      baseUrl: urls[server],
      pool: { kind: "warm", trigger: spec.trigger, workload, seed: seed++ },
      secret,
      connections: spec.connections,
      ...(spec.rate !== undefined && { rate: spec.rate, durationS: spec.durationS ?? profile.windowS }),
      ...(spec.amount !== undefined && { amount: spec.amount }),
      warmupS: spec.rate !== undefined ? profile.warmupS : 0,
      pacing: spec.pacing ?? pacing,
      watch,
      timeoutS: 10,
    });
    const after = counters ? await scrape(s.ingress.url) : undefined;
    const window = toWindow(run, {
      scenario,
      server,
      round,
      targetRate: spec.rate,
      connections: spec.connections,
      ...(counters &&
        after && {
          ingress: {
            lookups: increases(counters, after, "gatehouse_cache_lookups_total"),
            enqueues: increases(counters, after, "gatehouse_enqueues_total"),
            reasons: increases(counters, after, "gatehouse_decisions_total"),
            gc: gcTotals(counters, after),
          },
        }),
    });
    windows.push(window);
    const split = Object.entries(window.cpuUs)
      .filter(([name]) => name !== "loadgen" && (window.cpuUs[name] ?? 0) >= 0.5)
      .map(([name, value]) => `${name} ${value.toFixed(1)}`)
      .join(", ");
    say(
      `${scenario} ${server} #${round}: ${Math.round(window.achievedRate)} req/s, p50 ${window.latency.p50.toFixed(2)} ` +
        `p99 ${window.latency.p99.toFixed(2)} p99.9 ${window.latency.p999.toFixed(2)} max ${window.latency.max.toFixed(1)} ms, ` +
        `${window.servedCpuUs.toFixed(1)} µs/req served (${split}; loadgen ${(window.cpuUs.loadgen ?? 0).toFixed(1)}), ` +
        `waited for a core ${window.servedWaitUs.toFixed(0)} µs/req, ` +
        `errors ${window.errors + window.timeouts}, non-2xx ${window.non2xx}` +
        ((window.cores.other ?? 0) >= BUSY_CORES
          ? `, OTHER PROCESSES ${window.cores.other?.toFixed(2)} cores`
          : "") +
        ((window.cores.stolen ?? 0) >= BUSY_CORES
          ? `, HOST TOOK ${window.cores.stolen?.toFixed(2)} cores (steal)`
          : "") +
        (window.recycled > 0 ? `, ${window.recycled} RECYCLED requests` : "") +
        (window.ingress ? `; ingress: ${describeCounters(window.ingress)}` : ""),
    );
    return window;
  };

  // JIT warm-up of every server, unmeasured, so that the first round is not the one that pays for it.
  for (const server of ["bare", "gatehouse", "hand-written"] as const) {
    await load.run({
      label: `JIT warm-up ${server}`,
      baseUrl: urls[server],
      pool: { kind: "warm", trigger: "PRE_SIGNUP", workload, seed: seed++ },
      secret,
      connections: server === "hand-written" ? handConnections : profile.connections,
      rate: server === "hand-written" ? profile.lowRate : profile.fixedRate,
      durationS: profile.jitWarmupS,
      warmupS: 0,
      pacing,
      watch,
      timeoutS: 10,
    });
  }
  say("servers warmed up (JIT)");

  const rss = new RssSampler(s.ingress.pid);
  const sustainedFrom = Date.now();

  // 1. CPU per request at a fixed rate, alternating: bare → Gatehouse → hand-written, several rounds.
  for (let round = 1; round <= profile.rounds; round++) {
    for (const server of ["bare", "gatehouse", "hand-written"] as const) {
      const connections = server === "hand-written" ? handConnections : profile.connections;
      await measure("signup-fixed", server, round, {
        trigger: "PRE_SIGNUP",
        rate: profile.fixedRate,
        connections,
      });
    }
  }

  // 1b. The same with autocannon's own pacing (a burst at full concurrency at the start of every second), the
  // pattern the shared notes' figures were measured with: requests arrive in batches, so wake-ups amortize.
  for (let round = 1; round <= profile.burstyRounds; round++) {
    for (const server of ["bare", "gatehouse"] as const) {
      await measure("signup-fixed-bursty", server, round, {
        trigger: "PRE_SIGNUP",
        rate: profile.fixedRate,
        connections: profile.connections,
        pacing: "autocannon",
      });
    }
  }

  // 2. Throughput, closed loop: what one ingress process sustains here, beside the bare route.
  const throughput: ThroughputNote[] = [];
  for (const server of ["bare", "gatehouse"] as const) {
    const window = await measure("capacity", server, 1, {
      trigger: "PRE_SIGNUP",
      connections: profile.capacityConnections,
      amount: profile.capacityRequests,
    });
    throughput.push({ server, rate: window.achievedRate, boundBy: boundOf(window) });
  }
  const gatehouseCapacity = throughput.find((t) => t.server === "gatehouse")!.rate;
  const halfRate = Math.max(100, Math.round(gatehouseCapacity / 2 / 100) * 100);
  const ingressUs = windows
    .filter((w) => w.scenario === "signup-fixed" && w.server === "gatehouse")
    .map((w) => w.cpuUs.ingress ?? 0);
  const cpuBound = 1e6 / (ingressUs.reduce((a, b) => a + b, 0) / ingressUs.length);
  notes.push(
    `one ingress process at a full core would answer about ${Math.round(cpuBound).toLocaleString("en-US")} req/s ` +
      `(1 s / its CPU per request at the fixed rate); it sustained ${Math.round(gatehouseCapacity).toLocaleString("en-US")} req/s closed loop here, ` +
      `so the latency windows run at ${halfRate} req/s.`,
  );

  // 3a. A rate the hand-written endpoint sustains too: the latencies compare without queueing.
  for (let round = 1; round <= profile.lowRounds; round++) {
    for (const server of ["bare", "gatehouse", "hand-written"] as const) {
      await measure("signup-low", server, round, {
        trigger: "PRE_SIGNUP",
        rate: profile.lowRate,
        connections:
          server === "hand-written"
            ? handWrittenConnections(profile.lowRate, providerLatencyMs, profile.connections)
            : profile.connections,
      });
    }
  }

  // 3b. Latency at half of what one ingress sustains, and the same with the providers slowed to 2 s (the fast path must not notice).
  for (let round = 1; round <= profile.latencyRounds; round++) {
    await measure("signup-half", "bare", round, {
      trigger: "PRE_SIGNUP",
      rate: halfRate,
      connections: profile.connections,
    });
    const normal = () =>
      measure("signup-half", "gatehouse", round, {
        trigger: "PRE_SIGNUP",
        rate: halfRate,
        connections: profile.connections,
      });
    const slowed = async () => {
      await s.providers.setDelay(SLOW_PROVIDERS_MS);
      await measure("signup-half-slow", "gatehouse", round, {
        trigger: "PRE_SIGNUP",
        rate: halfRate,
        connections: profile.connections,
      });
      await s.providers.setDelay(providerLatencyMs);
    };
    // The two Gatehouse windows back to back (after the hand-written window, with its hundreds of connections
    // and the providers' queued calls, the machine is not in the same state), and in turn first over an even
    // number of rounds (see latencyRounds): the window after the bare route's finds copies of facts that
    // expired while Gatehouse had no traffic, and which of the two comes first moves the p99 on this VM.
    for (const window of round % 2 === 1 ? [normal, slowed] : [slowed, normal]) await window();
    await measure("signup-half", "hand-written", round, {
      trigger: "PRE_SIGNUP",
      rate: halfRate,
      connections: handWrittenConnections(halfRate, providerLatencyMs, profile.connections),
    });
  }

  // 4. Warm PRE_SESSION_CREATION with cached claims, at the fixed rate (see warmSessions).
  if (profile.sessionRounds > 0) warmed(await warmSessions(warmOptions()));
  for (let round = 1; round <= profile.sessionRounds; round++) {
    for (const server of ["bare", "gatehouse", "hand-written"] as const) {
      const connections = server === "hand-written" ? handConnections : profile.connections;
      await measure("session-fixed", server, round, {
        trigger: "PRE_SESSION_CREATION",
        rate: profile.fixedRate,
        connections,
      });
    }
  }
  const memory: MemoryResult = rss.compare(sustainedFrom, Date.now());
  say(
    `ingress RSS: ${memory.firstMb.toFixed(1)} → ${memory.lastMb.toFixed(1)} MB (${memory.growthPct.toFixed(1)}%)`,
  );

  // 5. The cold burst.
  let burst: BurstResult | undefined;
  if (runBurst) {
    const burstWorkload = makeBurstWorkload(
      stamp.toLowerCase().replace(/[^a-z0-9]/g, ""),
      profile.burst,
      profile.burstIps,
    );
    await rewriteBetweenWindows();
    say(
      `cold burst: ${profile.burst} new domains at once over ${Math.min(profile.burstConnections, profile.burst)} connections`,
    );
    burst = await coldBurst({
      load,
      ingressUrl: s.ingress.url,
      bareUrl: s.bare.url,
      redisUrl: s.redis.url,
      prefix,
      secret,
      workload: burstWorkload,
      connections: Math.min(profile.burstConnections, profile.burst),
      deadlineMs: DEADLINE_MS,
      drainTimeoutS: profile.burstDrainTimeoutS,
      watch,
    });
    say(
      `cold burst: ${burst.load.responses} answered, client max ${burst.load.latency.max.toFixed(0)} ms, ` +
        `${burst.lateAnswers} late; worker ${burst.worker.jobsPerSecond.toFixed(0)} jobs/s`,
    );
  }
  rss.stop();
  await redis.quit();

  notes.push(
    `load generator: autocannon ${machine.autocannon} in its own process, ${pacing === "smooth" ? "each connection paced on its own schedule (wrk2-like, see pacing.ts)" : "autocannon's own per-second quota pacing"}; every request pre-signed before its window with a fresh interceptor id.`,
    `the hand-written endpoint is offered the same rate over ${handConnections} connections: it holds each request for the providers' ${providerLatencyMs} ms, so ${profile.connections} connections could not carry the rate at all.`,
    `providers (DNS, IP reputation, claims) are local stubs with ${providerLatencyMs} ms latency; the ingress never calls them, the worker and the hand-written endpoint do.`,
  );
  const aggregates = aggregate(windows);
  for (const a of aggregates) {
    if (a.targetRate !== undefined && a.achievedRate < 0.9 * a.targetRate) {
      notes.push(
        `${a.server} could not sustain ${a.targetRate} req/s in "${a.scenario}" (it answered ${Math.round(a.achievedRate)} req/s, ` +
          `${a.servedCpuUs.toFixed(0)} µs of CPU per request): its latency there is queueing, not its normal speed.`,
      );
    }
  }
  const ratios = computeRatios(windows);
  return {
    startedAt: startedAt.toISOString(),
    durationS: session.seconds(),
    profile: profile.name,
    options: {
      fixedRate: profile.fixedRate,
      connections: profile.connections,
      handWrittenConnections: handConnections,
      halfRate,
      windowS: profile.windowS,
      rounds: profile.rounds,
      providerLatencyMs,
      pacing,
      burst: runBurst ? profile.burst : 0,
      logLevel: flags["log-level"],
      cpuProfile: flags.profile,
    },
    machine,
    warms,
    windows,
    aggregates,
    throughput,
    ratios,
    targets: evaluateTargets({ ratios, aggregates, burst, memory }),
    memory,
    burst,
    cpuProfile: undefined,
    notes,
  };
}

let exitCode = 0;
try {
  const results = await main();
  session.load?.close();
  await group.stopAll();
  await servers?.redis.stop();
  let cpuProfile: ProfileSummary | undefined;
  if (profileDir) {
    const file = readdirSync(profileDir).find((name) => name.endsWith(".cpuprofile"));
    if (file) {
      cpuProfile = summarizeProfile(join(profileDir, file), 25);
      console.log(`\n${formatProfile(cpuProfile)}`);
    } else console.log(`\nno CPU profile was written in ${profileDir}`);
  }
  const final = { ...results, cpuProfile };
  writeResults(final, resultsDir);
  console.log(`\n${formatText(final)}\n`);
  console.log(`results: ${join(resultsDir, "results.json")}, chart.svg, results.md; logs in ${logDir}`);
} catch (error) {
  exitCode = 1;
  console.error(`\nbench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  console.error(`logs: ${logDir}`);
  session.load?.close();
  await group.stopAll(3_000);
  await servers?.redis.stop().catch(() => {});
} finally {
  session.done();
}
process.exit(exitCode);
