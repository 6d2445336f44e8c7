// Two builds of the ingress in one run: `npm run bench:ab -- <bundle> [--rounds=N] [--rate=R] [--ingress-env=NAME=VALUE]`, where
// <bundle> is an earlier `apps/ingress/dist/server.js` kept aside (copy it before changing the code).
//
// On this VM the same benchmark twice can differ by 30%, and two windows of one run, seconds apart, by 15%:
// a change of a few percent cannot be seen by measuring two builds one after the other. Here both builds run
// side by side against one Redis and one worker, warmed once, and are driven *at the same time*, each at the
// fixed rate, with requests of the same kind: whatever the machine does to one it does to the other. Each
// round prints the ingress CPU per request of both, and their ratio; the median over the rounds is the
// figure. Redis and the worker serve both, and are reported apart. The current build is the one in
// apps/ingress/dist (built first unless --no-build).
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cacheKeys } from "@gatehouse/decision-cache";
import { createRedis } from "@gatehouse/redis";
import { generateSecret } from "@gatehouse/signature";
import { ROOT } from "../support/child-process.js";
import { rewriteIfGrown } from "./aof-rewrites.js";
import { LoadGenerator, type RunResult } from "./load.js";
import { waitForQuiet } from "./machine.js";
import { PROFILES } from "./profiles.js";
import { parseIngressEnv, startIngress, startServers } from "./servers.js";
import { buildApps, startSession } from "./session.js";
import { median } from "./stats.js";
import { warmSignups } from "./warm.js";
import { makeWorkload } from "./workload.js";

const { values: flags, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: "string", default: "20" },
    rate: { type: "string", default: "3000" },
    seconds: { type: "string", default: "2" },
    "no-build": { type: "boolean", default: false },
    /** A Node.js or V8 flag for the earlier build only (repeatable): the same bundle twice compares flags. */
    "other-node-arg": { type: "string", multiple: true },
    "wait-quiet": { type: "string", default: "30" },
    /** More environment for both builds (repeatable), e.g. GATEHOUSE_LOCAL_FACTS_MS=0. */
    "ingress-env": { type: "string", multiple: true, default: [] },
  },
});
const other = positionals[0];
if (!other || !existsSync(other)) {
  console.error("usage: npm run bench:ab -- <an earlier build of apps/ingress/dist/server.js> [--rounds=20]");
  process.exit(64);
}
const rounds = Number(flags.rounds);
const rate = Number(flags.rate);
const seconds = Number(flags.seconds);
const profile = PROFILES.quick;

const session = startSession({
  folderPrefix: "ab-",
  timeoutS: 120 + Number(flags["wait-quiet"]) + rounds * 3 * (seconds + profile.warmupS + 3),
});
const { say, group } = session;
if (!flags["no-build"]) buildApps(session);
// Beside the current bundle, so that it finds the same node_modules.
const otherScript = join(ROOT, "apps/ingress/dist/server.ab.js");
copyFileSync(other, otherScript);
process.on("exit", () => rmSync(otherScript, { force: true }));

const secret = generateSecret();
const prefix = `ab${Date.now().toString(36)}`;
let workload = makeWorkload(profile.workload);
await waitForQuiet(Number(flags["wait-quiet"]), 0.25, say);
const options = {
  group,
  workDir: session.resultsDir,
  secret,
  prefix,
  providerLatencyMs: 0,
  blocklisted: workload.blocklisted,
  logLevel: "info",
  ingressEnv: parseIngressEnv(flags["ingress-env"] ?? []),
};
const s = await startServers(options);
const b = await startIngress({ ...options, ingressNodeArgs: flags["other-node-arg"] ?? [] }, s.redis.url, {
  name: "ingress-other",
  script: otherScript,
});
const load = LoadGenerator.start(join(session.logDir, "load-generator.log"));
session.load = load;

const redis = createRedis({ url: s.redis.url }, "bullmq");
const keys = cacheKeys(prefix);
const warmed = await warmSignups({ url: s.ingress.url, secret, redis, keys, workload, timeoutMs: 60_000 });
workload = warmed.workload;
say(`cache warm: ${warmed.report.requests} requests in ${warmed.report.seconds.toFixed(1)} s`);

type Side = "current" | "other";
const urls: Record<Side, string> = { current: s.ingress.url, other: b.url };
const watch = { current: s.ingress.pid, other: b.pid, redis: s.redisPid, worker: s.worker.pid };
let seed = 1;
const drive = (side: Side, label: string, durationS: number, warmupS: number) =>
  load.run({
    label,
    baseUrl: urls[side],
    pool: { kind: "warm", trigger: "PRE_SIGNUP", workload, seed: seed++ },
    secret,
    connections: profile.connections,
    rate,
    durationS,
    warmupS,
    pacing: "smooth",
    watch,
    timeoutS: 10,
  });
const both = (label: string, durationS: number, warmupS: number) =>
  Promise.all([
    drive("current", `${label} current`, durationS, warmupS),
    drive("other", `${label} other`, durationS, warmupS),
  ]);
const perRequestUs = (run: RunResult, name: string) =>
  ((run.cpu.byName[name] ?? Number.NaN) / run.responses) * 1e6;

await both("JIT warm-up", profile.jitWarmupS, 0);
say(`JIT warm: ${rounds} rounds, each build at ${rate} req/s at the same time, ${seconds} s a window`);

const rows: { current: number; other: number; shared: number; p99: [number, number] }[] = [];
for (let round = 1; round <= rounds; round++) {
  await rewriteIfGrown(redis);
  const [current, othr] = await both(`#${round}`, seconds, profile.warmupS);
  const row = {
    current: perRequestUs(current, "current"),
    other: perRequestUs(othr, "other"),
    // Redis and the worker over the current build's window, per request of both.
    shared:
      (((current.cpu.byName.redis ?? 0) + (current.cpu.byName.worker ?? 0)) /
        (current.responses + othr.responses)) *
      1e6,
    p99: [current.latency.p99, othr.latency.p99] as [number, number],
  };
  rows.push(row);
  say(
    `#${round}: ingress µs/req current ${row.current.toFixed(1)}, other ${row.other.toFixed(1)} ` +
      `(current / other ${(row.current / row.other).toFixed(3)}); Redis + worker ${row.shared.toFixed(1)}; ` +
      `p99 ${row.p99[0].toFixed(2)} / ${row.p99[1].toFixed(2)} ms; ${current.responses} + ${othr.responses} answers`,
  );
}
const ratios = rows.map((row) => row.current / row.other);
say(
  `medians over ${rounds} rounds: ingress CPU µs/req current ${median(rows.map((r) => r.current)).toFixed(1)}, ` +
    `other ${median(rows.map((r) => r.other)).toFixed(1)}; current / other ${median(ratios).toFixed(3)} ` +
    `(${ratios.filter((x) => x < 1).length} of ${rounds} rounds below 1); Redis + worker ${median(rows.map((r) => r.shared)).toFixed(1)} µs/req; ` +
    `p99 current ${median(rows.map((r) => r.p99[0])).toFixed(2)} ms, other ${median(rows.map((r) => r.p99[1])).toFixed(2)} ms`,
);
await redis.quit();
session.done();
load.close();
await group.stopAll();
await s.redis.stop();
process.exit(0);
