// One measured window, and the medians over a scenario's rounds: the vocabulary of the report.

import { otherCores } from "./cpu.js";
import type { RunResult } from "./load.js";
import type { GcTotals } from "./metrics-scrape.js";
import { type LatencySummary, median, PERCENTILES } from "./stats.js";

export type ServerName = "bare" | "gatehouse" | "hand-written";

export type ScenarioName =
  | "signup-fixed"
  | "signup-fixed-bursty"
  | "capacity"
  | "signup-low"
  | "signup-half"
  | "signup-half-slow"
  | "session-fixed";

export const SCENARIO_TITLES: Record<ScenarioName, string> = {
  "signup-fixed": "warm PRE_SIGNUP, fixed rate",
  "signup-fixed-bursty": "warm PRE_SIGNUP, fixed rate, autocannon's bursty pacing",
  capacity: "warm PRE_SIGNUP, closed loop",
  "signup-low": "warm PRE_SIGNUP, a rate all three sustain",
  "signup-half": "warm PRE_SIGNUP, half of Gatehouse's throughput",
  "signup-half-slow": "same, providers slowed to 2 s",
  "session-fixed": "warm PRE_SESSION_CREATION with claims, fixed rate",
};

/** The processes that serve each server's requests: their CPU time is the cost of a request. */
export const SERVED_BY: Record<ServerName, readonly string[]> = {
  bare: ["bare"],
  gatehouse: ["ingress", "redis", "worker"],
  "hand-written": ["hand-written"],
};

export interface WindowResult extends RunResult {
  readonly scenario: ScenarioName;
  readonly server: ServerName;
  readonly round: number;
  /** Undefined for a closed-loop run. */
  readonly targetRate: number | undefined;
  readonly connections: number;
  /** CPU microseconds per answered request, by process. */
  readonly cpuUs: Record<string, number>;
  /** Summed over SERVED_BY[server]. */
  readonly servedCpuUs: number;
  /** Microseconds per request the serving processes' main threads waited for a CPU (summed). */
  readonly servedWaitUs: number;
  /** Cores each process kept busy on average during the window. */
  readonly cores: Record<string, number>;
  /** Gatehouse windows: the ingress' own counters over the window (cache lookups, enqueues, reasons). */
  readonly ingress?: IngressCounters;
}

export interface IngressCounters {
  readonly lookups: Record<string, number>;
  readonly enqueues: Record<string, number>;
  readonly reasons: Record<string, number>;
  /** Absent in results written before it was measured. */
  readonly gc?: GcTotals;
}

export function toWindow(
  run: RunResult,
  meta: {
    scenario: ScenarioName;
    server: ServerName;
    round: number;
    targetRate: number | undefined;
    connections: number;
    ingress?: IngressCounters;
  },
): WindowResult {
  const cpuUs: Record<string, number> = {};
  const cores: Record<string, number> = {};
  for (const [name, seconds] of Object.entries(run.cpu.byName)) {
    cpuUs[name] = (seconds * 1e6) / run.responses;
    cores[name] = seconds / run.cpu.seconds;
  }
  cores.machine = run.cpu.machineCores;
  // Whatever else ran on the machine meanwhile (other users' test runs), and what the host ran on its cores
  // instead of it (other tenants): either disturbs every figure.
  cores.other = otherCores(run.cpu);
  cores.stolen = run.cpu.stolenCores;
  const servedCpuUs = SERVED_BY[meta.server].reduce((sum, name) => sum + (cpuUs[name] ?? Number.NaN), 0);
  const servedWaitUs = SERVED_BY[meta.server].reduce(
    (sum, name) => sum + ((run.cpu.waitByName[name] ?? Number.NaN) * 1e6) / run.responses,
    0,
  );
  return { ...run, ...meta, cpuUs, cores, servedCpuUs, servedWaitUs };
}

export interface Aggregate {
  readonly scenario: ScenarioName;
  readonly server: ServerName;
  readonly rounds: number;
  readonly targetRate: number | undefined;
  readonly connections: number;
  readonly achievedRate: number;
  readonly responses: number;
  /** Median over rounds of each percentile; max is the largest of all. */
  readonly latency: Omit<LatencySummary, "count">;
  /** Smooth pacing: the load generator's own lateness in sending, p99, median over rounds (NaN otherwise). */
  readonly sendLateP99: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly recycled: number;
  readonly decisions: Record<string, number>;
  readonly servedCpuUs: number;
  readonly servedWaitUs: number;
  readonly cpuUs: Record<string, number>;
  readonly cores: Record<string, number>;
  /** Gatehouse: the ingress' time in GC pauses per answered request, median over rounds (NaN if not measured). */
  readonly gcUs: number;
  /** Gatehouse: the ingress' GC pauses over 10 ms, all rounds together. */
  readonly gcOver10ms: number;
}

/**
 * The answers the ingress counted over the same span as its GC counters: the window's unmeasured start
 * included, which the load generator's `responses` leave out.
 */
const ingressAnswers = (w: WindowResult) =>
  Object.values(w.ingress?.reasons ?? {}).reduce((sum, count) => sum + count, 0) || w.responses;

const medianOf = (windows: readonly WindowResult[], pick: (w: WindowResult) => number) =>
  median(windows.map(pick));

function medianRecord(records: readonly Record<string, number>[]): Record<string, number> {
  const names = new Set(records.flatMap((record) => Object.keys(record)));
  return Object.fromEntries(
    [...names].map((name) => [name, median(records.map((r) => r[name] ?? Number.NaN))]),
  );
}

/** Groups windows by scenario and server, in the order they first ran. */
export function aggregate(windows: readonly WindowResult[]): Aggregate[] {
  const groups = new Map<string, WindowResult[]>();
  for (const window of windows) {
    const key = `${window.scenario}/${window.server}`;
    groups.set(key, [...(groups.get(key) ?? []), window]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const latency = Object.fromEntries(
      ["mean", ...PERCENTILES].map((p) => [
        p,
        p === "max"
          ? Math.max(...group.map((w) => w.latency.max))
          : medianOf(group, (w) => w.latency[p as keyof LatencySummary]),
      ]),
    ) as Aggregate["latency"];
    const decisions: Record<string, number> = {};
    for (const window of group) {
      for (const [decision, count] of Object.entries(window.decisions))
        decisions[decision] = (decisions[decision] ?? 0) + count;
    }
    const sum = (pick: (w: WindowResult) => number) => group.reduce((total, w) => total + pick(w), 0);
    return {
      scenario: first.scenario,
      server: first.server,
      rounds: group.length,
      targetRate: first.targetRate,
      connections: first.connections,
      achievedRate: medianOf(group, (w) => w.achievedRate),
      responses: sum((w) => w.responses),
      latency,
      sendLateP99: medianOf(group, (w) => w.sendLate?.p99 ?? Number.NaN),
      errors: sum((w) => w.errors),
      timeouts: sum((w) => w.timeouts),
      non2xx: sum((w) => w.non2xx),
      recycled: sum((w) => w.recycled),
      decisions,
      servedCpuUs: medianOf(group, (w) => w.servedCpuUs),
      servedWaitUs: medianOf(group, (w) => w.servedWaitUs),
      cpuUs: medianRecord(group.map((w) => w.cpuUs)),
      cores: medianRecord(group.map((w) => w.cores)),
      gcUs: medianOf(group, (w) => ((w.ingress?.gc?.seconds ?? Number.NaN) * 1e6) / ingressAnswers(w)),
      gcOver10ms: sum((w) => w.ingress?.gc?.over10ms ?? 0),
    };
  });
}

/** Median over rounds of a per-round ratio between two servers of one scenario (rounds paired in order). */
export function pairedRatio(
  windows: readonly WindowResult[],
  scenario: ScenarioName,
  numerator: ServerName | ((w: WindowResult) => boolean),
  denominator: ServerName | ((w: WindowResult) => boolean),
  pick: (w: WindowResult) => number,
): { median: number; perRound: number[] } {
  const select = (which: ServerName | ((w: WindowResult) => boolean)) =>
    windows.filter((w) =>
      typeof which === "string" ? w.scenario === scenario && w.server === which : which(w),
    );
  const tops = select(numerator);
  const bottoms = select(denominator);
  const perRound = tops.slice(0, bottoms.length).map((top, i) => pick(top) / pick(bottoms[i]!));
  return { median: median(perRound), perRound };
}

/** "cache hit 12,000, miss 3; enqueued added 3": what the ingress saw, in one line. */
export function describeCounters(counters: IngressCounters): string {
  const byLabel = (record: Record<string, number>, label: string) => {
    const out: Record<string, number> = {};
    for (const [series, count] of Object.entries(record)) {
      const value = new RegExp(`${label}="([^"]*)"`).exec(series)?.[1] ?? "?";
      out[value] = (out[value] ?? 0) + count;
    }
    return Object.entries(out)
      .map(([value, count]) => `${value} ${Math.round(count).toLocaleString("en-US")}`)
      .join(", ");
  };
  const enqueues = byLabel(counters.enqueues, "result");
  const gc = counters.gc;
  return (
    `cache ${byLabel(counters.lookups, "result") || "none"}${enqueues ? `; enqueued ${enqueues}` : ""}` +
    (gc
      ? `; GC ${gc.pauses} pauses, ${((gc.seconds * 1000) / Math.max(gc.pauses, 1)).toFixed(2)} ms on average, ${gc.over10ms} over 10 ms`
      : "")
  );
}
