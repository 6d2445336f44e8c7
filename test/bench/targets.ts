// The issue's targets and ratios, computed from one run's windows. The ratios are what count on a 2-core
// machine; absolute figures move ±20% from run to run.
import type { BurstResult } from "./cold-burst.js";
import type { MemoryResult } from "./memory.js";
import { type Aggregate, pairedRatio, type WindowResult } from "./windows.js";

export interface Ratio {
  readonly name: string;
  readonly median: number;
  readonly perRound: readonly number[];
}

export interface Target {
  readonly name: string;
  readonly goal: string;
  readonly value: string;
  /** Undefined when the scenario did not run. */
  readonly met: boolean | undefined;
  readonly note?: string;
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a");

export function computeRatios(windows: readonly WindowResult[]): Ratio[] {
  const ratios: Ratio[] = [];
  const add = (name: string, ratio: { median: number; perRound: number[] }) => {
    if (ratio.perRound.length > 0) ratios.push({ name, ...ratio });
  };
  const cpu = (w: WindowResult) => w.servedCpuUs;
  const p99 = (w: WindowResult) => w.latency.p99;
  add(
    "CPU per request, Gatehouse / limit (warm PRE_SIGNUP, fixed rate)",
    pairedRatio(windows, "signup-fixed", "gatehouse", "bare", cpu),
  );
  add(
    "CPU per request, Gatehouse / limit (warm PRE_SIGNUP, fixed rate, autocannon's bursty pacing)",
    pairedRatio(windows, "signup-fixed-bursty", "gatehouse", "bare", cpu),
  );
  add(
    "CPU per request, Gatehouse / limit (warm PRE_SESSION_CREATION, fixed rate)",
    pairedRatio(windows, "session-fixed", "gatehouse", "bare", cpu),
  );
  add(
    "CPU per request, hand-written / Gatehouse (warm PRE_SIGNUP, fixed rate)",
    pairedRatio(windows, "signup-fixed", "hand-written", "gatehouse", cpu),
  );
  add(
    "throughput, Gatehouse / limit (closed loop)",
    pairedRatio(windows, "capacity", "gatehouse", "bare", (w) => w.achievedRate),
  );
  add(
    "p99, Gatehouse / limit (warm PRE_SIGNUP, fixed rate)",
    pairedRatio(windows, "signup-fixed", "gatehouse", "bare", p99),
  );
  add(
    "p99, Gatehouse / limit (warm PRE_SIGNUP, half throughput)",
    pairedRatio(windows, "signup-half", "gatehouse", "bare", p99),
  );
  add(
    "p99, hand-written / Gatehouse (warm PRE_SIGNUP, a rate all three sustain)",
    pairedRatio(windows, "signup-low", "hand-written", "gatehouse", p99),
  );
  add(
    "p99, Gatehouse / limit (warm PRE_SIGNUP, a rate all three sustain)",
    pairedRatio(windows, "signup-low", "gatehouse", "bare", p99),
  );
  add(
    "p99, hand-written / Gatehouse (warm PRE_SIGNUP, half throughput)",
    pairedRatio(windows, "signup-half", "hand-written", "gatehouse", p99),
  );
  add(
    "p99, hand-written / Gatehouse (warm PRE_SIGNUP, fixed rate)",
    pairedRatio(windows, "signup-fixed", "hand-written", "gatehouse", p99),
  );
  add(
    "p99, hand-written / Gatehouse (warm PRE_SESSION_CREATION, fixed rate)",
    pairedRatio(windows, "session-fixed", "hand-written", "gatehouse", p99),
  );
  add(
    "p99, providers slowed to 2 s / normal (Gatehouse, half throughput)",
    pairedRatio(
      windows,
      "signup-half-slow",
      (w) => w.scenario === "signup-half-slow",
      (w) => w.scenario === "signup-half" && w.server === "gatehouse",
      p99,
    ),
  );
  return ratios;
}

export function evaluateTargets(input: {
  ratios: readonly Ratio[];
  aggregates: readonly Aggregate[];
  burst: BurstResult | undefined;
  memory: MemoryResult | undefined;
}): Target[] {
  const ratio = (prefix: string) => input.ratios.find((r) => r.name.startsWith(prefix));
  const gatehouseHalf = input.aggregates.find(
    (a) => a.scenario === "signup-half" && a.server === "gatehouse",
  );
  const targets: Target[] = [];

  for (const [pacing, name] of [
    ["smooth pacing", "CPU per request, Gatehouse / limit (warm PRE_SIGNUP, fixed rate)"],
    [
      "autocannon's bursty pacing",
      "CPU per request, Gatehouse / limit (warm PRE_SIGNUP, fixed rate, autocannon's",
    ],
  ] as const) {
    const cpu = ratio(name);
    targets.push({
      name: `warm PRE_SIGNUP CPU per request vs the bare route (${pacing})`,
      goal: "≤ 2× (stretch 1.5×)",
      value: cpu ? `${fixed(cpu.median)}× (rounds: ${cpu.perRound.map((r) => fixed(r)).join(", ")})` : "n/a",
      met: cpu ? cpu.median <= 2 : undefined,
      ...(cpu && { note: cpu.median <= 1.5 ? "stretch met" : "stretch not met" }),
    });
  }
  targets.push({
    name: "warm p99 at half of one ingress' throughput",
    goal: "≤ 2 ms",
    value: gatehouseHalf
      ? `${fixed(gatehouseHalf.latency.p99)} ms at ${gatehouseHalf.targetRate} req/s`
      : "n/a",
    met: gatehouseHalf ? gatehouseHalf.latency.p99 <= 2 : undefined,
  });
  targets.push({
    name: "warm p99.9 at half of one ingress' throughput",
    goal: "≤ 10 ms",
    value: gatehouseHalf ? `${fixed(gatehouseHalf.latency.p999)} ms` : "n/a",
    met: gatehouseHalf ? gatehouseHalf.latency.p999 <= 10 : undefined,
  });
  const slowed = ratio("p99, providers slowed");
  targets.push({
    name: "warm p99 with the providers slowed to 2 s",
    goal: "within 10% of the normal warm p99",
    value: slowed
      ? `${fixed(slowed.median)}× normal (rounds: ${slowed.perRound.map((r) => fixed(r)).join(", ")})`
      : "n/a",
    met: slowed ? slowed.median <= 1.1 : undefined,
  });
  const handLow = ratio("p99, hand-written / Gatehouse (warm PRE_SIGNUP, a rate");
  const handHalf = ratio("p99, hand-written / Gatehouse (warm PRE_SIGNUP, half");
  const handFixed = ratio("p99, hand-written / Gatehouse (warm PRE_SIGNUP, fixed");
  const also = [
    handHalf && `at half of Gatehouse's throughput ${fixed(handHalf.median, 1)}×`,
    handFixed && `at the fixed rate ${fixed(handFixed.median, 1)}×`,
  ].filter(Boolean);
  targets.push({
    name: "hand-written p99 / Gatehouse warm p99, at a rate both sustain",
    goal: "report (expect ≥ 25×)",
    value: handLow
      ? `${fixed(handLow.median, 1)}× (rounds: ${handLow.perRound.map((r) => fixed(r, 1)).join(", ")})` +
        (also.length ? `; where the hand-written endpoint queues: ${also.join(", ")}` : "")
      : "n/a",
    met: handLow ? handLow.median >= 25 : undefined,
  });

  const burst = input.burst;
  if (burst) {
    const allAnswered =
      burst.load.responses === burst.requests &&
      burst.load.errors === 0 &&
      burst.load.timeouts === 0 &&
      burst.load.non2xx === 0;
    targets.push({
      name: `cold burst: every request answered before the deadline (${burst.deadlineMs} ms), as the ingress measures it`,
      goal: "all",
      value:
        `${burst.serverLatency.count}/${burst.requests} answered by the ingress (audit records); ingress p99 ` +
        `${fixed(burst.serverLatency.p99, 0)} ms, max ${fixed(burst.serverLatency.max, 0)} ms, ${burst.serverOverDeadline} over the deadline`,
      met: burst.serverLatency.count === burst.requests && burst.serverOverDeadline === 0,
    });
    targets.push({
      name: `cold burst: every request answered before the deadline (${burst.deadlineMs} ms), as the client sees it`,
      goal: "all",
      value:
        `${burst.lateAnswers} late, ${burst.load.errors} errors/timeouts, client max ${fixed(burst.load.latency.max, 0)} ms` +
        (burst.bareControl
          ? ` (bare route under the same burst: ${burst.bareControl.over ?? 0} late, max ${fixed(burst.bareControl.latency.max, 0)} ms, ` +
            `${burst.bareControl.errors} errors)`
          : ""),
      met: allAnswered && burst.lateAnswers === 0,
    });
    const created = Object.values(burst.jobs.created).reduce((sum, n) => sum + n, 0);
    const subjects = burst.distinctSubjects.domains + burst.distinctSubjects.ips;
    targets.push({
      name: "cold burst: enrichment jobs created ≤ distinct subjects",
      goal: `≤ ${subjects}`,
      value: `${created} (${Object.entries(burst.jobs.created)
        .map(([name, n]) => `${name} ${n}`)
        .join(", ")}; ${burst.jobs.duplicates} subjects computed twice)`,
      met: created <= subjects && burst.worker.missingAfterDrain === 0,
      ...(burst.worker.missingAfterDrain > 0 && {
        note: `${burst.worker.missingAfterDrain} facts never written`,
      }),
    });
    targets.push({
      name: "cold burst: the worker's enrichment throughput",
      goal: "report",
      value: `${fixed(burst.worker.jobsPerSecond, 0)} jobs/s; drained in ${fixed(burst.worker.drainSeconds, 1)} s`,
      met: undefined,
    });
  }
  const memory = input.memory;
  targets.push({
    name: "ingress RSS growth, first vs last stretch of the sustained run",
    goal: "< 10%",
    value: memory
      ? `${fixed(memory.growthPct, 1)}% (${fixed(memory.firstMb, 1)} → ${fixed(memory.lastMb, 1)} MB, ` +
        `first/last ${memory.stretchS} s of ${fixed((memory.toAt - memory.fromAt) / 1000, 0)} s; peak ${fixed(memory.peakMb, 1)} MB)`
      : "n/a",
    met: memory ? memory.growthPct < 10 : undefined,
  });
  return targets;
}
