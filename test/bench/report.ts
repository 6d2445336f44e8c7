// The printed table, the same as Markdown, and the JSON of a run.
import type { BurstResult } from "./cold-burst.js";
import type { Machine } from "./machine.js";
import type { MemoryResult } from "./memory.js";
import type { ProfileSummary } from "./profile.js";
import type { Ratio, Target } from "./targets.js";
import type { WarmReport } from "./warm.js";
import { type Aggregate, SCENARIO_TITLES, SERVED_BY, type WindowResult } from "./windows.js";

export interface BenchResults {
  readonly startedAt: string;
  readonly durationS: number;
  readonly profile: string;
  readonly options: Record<string, unknown>;
  readonly machine: Machine;
  /** Each warm-up, in order: the sign-up subjects' at the start, the sessions' before their windows. */
  readonly warms: readonly WarmReport[];
  readonly windows: readonly WindowResult[];
  readonly aggregates: readonly Aggregate[];
  readonly throughput: readonly ThroughputNote[];
  readonly ratios: readonly Ratio[];
  readonly targets: readonly Target[];
  readonly memory: MemoryResult | undefined;
  readonly burst: BurstResult | undefined;
  readonly cpuProfile: ProfileSummary | undefined;
  readonly notes: readonly string[];
}

export interface ThroughputNote {
  readonly server: string;
  readonly rate: number;
  readonly boundBy: string;
}

const ms = (value: number) =>
  !Number.isFinite(value)
    ? "n/a"
    : value < 10
      ? value.toFixed(2)
      : value < 100
        ? value.toFixed(1)
        : value.toFixed(0);
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a");
const us = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : "n/a");

/** Which process bounded a closed-loop run: the one nearest a full core, or the whole machine. */
export function boundOf(window: WindowResult): string {
  const cores = Object.entries(window.cores).filter(([name]) => name !== "machine" && name !== "stolen");
  const busiest = cores.sort((a, b) => b[1] - a[1]);
  const list = busiest
    .filter(([, c]) => c >= 0.05)
    .map(([name, c]) => `${name} ${c.toFixed(2)}`)
    .join(", ");
  const machine = window.cores.machine ?? 0;
  const [top, topCores] = busiest[0] ?? ["?", 0];
  const verdict =
    topCores >= 0.9
      ? `${top} (one process at ${Math.round(topCores * 100)}% of a core: single-threaded limit)`
      : machine >= 1.85
        ? `the machine (${machine.toFixed(2)} of 2 cores busy)`
        : (window.cores.loadgen ?? 0) >= 0.85
          ? `the load generator (${Math.round((window.cores.loadgen ?? 0) * 100)}% of a core)`
          : "no process saturated: the round trips between the load generator and the server (more connections would raise it)";
  return `${verdict}; cores used: ${list}; machine ${machine.toFixed(2)}`;
}

function cpuSplit(aggregate: Aggregate): string {
  const parts = SERVED_BY[aggregate.server].map(
    (name) => `${name} ${us(aggregate.cpuUs[name] ?? Number.NaN)}`,
  );
  if (aggregate.server === "hand-written")
    parts.push(`(+ stub providers ${us(aggregate.cpuUs.providers ?? Number.NaN)})`);
  return parts.join(" + ");
}

const HEADERS = [
  "scenario",
  "server",
  "rounds",
  "rate req/s",
  "achieved",
  "conns",
  "p50 ms",
  "p99 ms",
  "p99.9 ms",
  "max ms",
  "sent late p99 ms",
  "errors",
  "non-2xx",
  "ALLOW",
  "DENY",
  "other",
  "CPU µs/req",
  "CPU wait µs/req",
  "GC µs/req (> 10 ms)",
  "other / stolen cores",
  "CPU split µs/req",
];

function rows(aggregates: readonly Aggregate[]): string[][] {
  return aggregates.map((a) => [
    SCENARIO_TITLES[a.scenario],
    a.server,
    String(a.rounds),
    a.targetRate === undefined ? "closed loop" : int(a.targetRate),
    int(a.achievedRate),
    String(a.connections),
    ms(a.latency.p50),
    ms(a.latency.p99),
    ms(a.latency.p999),
    ms(a.latency.max),
    Number.isFinite(a.sendLateP99) ? ms(a.sendLateP99) : "—",
    int(a.errors + a.timeouts),
    int(a.non2xx),
    int(a.decisions.ALLOW ?? 0),
    int(a.decisions.DENY ?? 0),
    int(a.decisions.other ?? 0),
    us(a.servedCpuUs),
    us(a.servedWaitUs),
    Number.isFinite(a.gcUs) ? `${us(a.gcUs)} (${a.gcOver10ms})` : "—",
    `${(a.cores.other ?? 0).toFixed(2)} / ${(a.cores.stolen ?? 0).toFixed(2)}`,
    cpuSplit(a),
  ]);
}

export function textTable(headers: string[], body: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i < 2 || i === cells.length - 1 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!),
      )
      .join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function markdownTable(headers: string[], body: string[][]): string {
  const escapeText = (cell: string) => cell.replaceAll("|", "\\|");
  return [
    `| ${headers.map(escapeText).join(" | ")} |`,
    `|${headers.map((_, i) => (i < 2 || i === headers.length - 1 ? "---" : "---:")).join("|")}|`,
    ...body.map((row) => `| ${row.map(escapeText).join(" | ")} |`),
  ].join("\n");
}

const mark = (met: boolean | undefined) => (met === undefined ? "—" : met ? "MET" : "MISSED");

function bareControlLine(c: NonNullable<BurstResult["bareControl"]>, deadlineMs: number): string {
  return (
    `the bare route under the same burst (the limit: TCP, the machine, the load generator): ${int(c.responses)} answered in ${c.seconds.toFixed(1)} s, ` +
    `p50 ${ms(c.latency.p50)} ms, p99 ${ms(c.latency.p99)} ms, max ${ms(c.latency.max)} ms, ` +
    `${int(c.over ?? 0)} after ${deadlineMs} ms, ${c.errors} errors, ${int(c.listenOverflows)} listen queue overflows`
  );
}

export function burstLines(burst: BurstResult): string[] {
  const b = burst;
  const outcomes = Object.entries(b.cacheOutcomes)
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(", ");
  const reasons = Object.entries(b.reasons)
    .map(([k, v]) => `${k.replace(/trigger="[^"]*",?/, "")}: ${int(v)}`)
    .join("; ");
  return [
    `${int(b.requests)} signups from ${int(b.distinctSubjects.domains)} new domains and ${int(b.distinctSubjects.ips)} new IPs, ` +
      `${int(b.load.responses)} answered in ${b.load.seconds.toFixed(1)} s (${int(b.load.achievedRate)} req/s, ${b.load.errors} errors, ${b.load.timeouts} timeouts, ${b.load.non2xx} non-2xx)`,
    `client latency: p50 ${ms(b.load.latency.p50)} ms, p99 ${ms(b.load.latency.p99)} ms, max ${ms(b.load.latency.max)} ms; ${int(b.lateAnswers)} after the ${b.deadlineMs} ms deadline`,
    ...(b.bareControl ? [bareControlLine(b.bareControl, b.deadlineMs)] : []),
    `listen queue overflows during the burst: ${int(b.listenOverflows)} (each such client retries its TCP handshake after 1 s, then 3 s: latency the ingress never sees)`,
    `ingress latency (audit): p50 ${ms(b.serverLatency.p50)} ms, p99 ${ms(b.serverLatency.p99)} ms, max ${ms(b.serverLatency.max)} ms; cache outcomes: ${outcomes}`,
    `answers: ALLOW ${int(b.load.decisions.ALLOW ?? 0)}, DENY ${int(b.load.decisions.DENY ?? 0)}, other ${int(b.load.decisions.other ?? 0)}; reasons: ${reasons}`,
    `jobs: created ${Object.entries(b.jobs.created)
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(
        ", ",
      )}; failed ${Object.values(b.jobs.failed).reduce((s, n) => s + n, 0)}; BullMQ add calls ${Object.entries(
      b.jobs.addCalls,
    )
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(", ")}`,
    ...(b.backlog
      ? [
          `queues paused during the burst: ${int(b.backlog.jobs)} jobs waiting, Redis grew ${int(b.backlog.bytes / Math.max(1, b.backlog.jobs))} bytes per waiting job (audit excluded)`,
        ]
      : []),
    `worker: ${int(b.worker.jobsPerSecond)} jobs/s, all facts written ${b.worker.drainSeconds.toFixed(1)} s after the ${b.backlog ? "queues resumed" : "burst began"}` +
      (b.worker.missingAfterDrain > 0 ? `, ${b.worker.missingAfterDrain} never written` : ""),
  ];
}

function sections(
  results: BenchResults,
  table: (h: string[], b: string[][]) => string,
  heading: (t: string) => string,
): string {
  const m = results.machine;
  const out: string[] = [
    heading(`Gatehouse benchmark — ${results.profile} profile, ${results.startedAt}`),
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGb} GB, Linux ${m.kernel}; Node ${m.node}; Redis ${m.redis}; autocannon ${m.autocannon}; commit ${m.gitCommit}`,
    `options: ${Object.entries(results.options)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ")}`,
    `cache warmed through the ingress and the worker, each trigger's subjects before its windows: ${results.warms
      .map(
        (warm) =>
          `${warm.trigger} ${warm.requests} requests, ${Object.entries(warm.facts)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")} facts, ${warm.seconds.toFixed(1)} s`,
      )
      .join("; ")}`,
    "",
    table(HEADERS, rows(results.aggregates)),
    "",
    "latency: open loop, medians over rounds, max over all rounds; a request whose connection still awaited the previous answer when it came due is measured from then (coordinated omission corrected), one whose connection was free from its send.",
    "sent late p99 ms: how late the load generator itself sent the requests whose connection was free when they came due (its JavaScript timers, on cores it shares with the servers): not counted in the latency.",
    "CPU µs/req: CPU time (/proc, all threads) of the processes that serve the server — bare: its process; Gatehouse: ingress + Redis + worker; hand-written: its process — divided by the answers.",
    "CPU wait µs/req: time the serving processes' main threads were runnable but waiting for a core (/proc/<pid>/schedstat): latency from sharing 2 cores with the load generator.",
    "GC µs/req (> 10 ms): Gatehouse only — the ingress' garbage-collection pauses per answered request, from its own `gatehouse_nodejs_gc_duration_seconds` (median over rounds), and in brackets how many pauses took over 10 ms (all rounds): the source of most of its latency tail.",
    "other / stolen cores: CPU used meanwhile by processes outside the benchmark, and taken from this VM by its host for other guests (steal in /proc/stat), medians over rounds; either above 0.25 and the row is disturbed.",
    "",
    heading("Throughput (closed loop) and what bounded it"),
    ...results.throughput.map((t) => `${t.server}: ${int(t.rate)} req/s — bounded by ${t.boundBy}`),
    "",
    heading("Ratios"),
    ...results.ratios.map(
      (r) =>
        `${r.name}: ${r.median.toFixed(2)}× (per round: ${r.perRound.map((x) => x.toFixed(2)).join(", ")})`,
    ),
    "",
    heading("Targets"),
    ...results.targets.map(
      (t) => `${mark(t.met).padEnd(6)} ${t.name} — goal ${t.goal}: ${t.value}${t.note ? ` (${t.note})` : ""}`,
    ),
  ];
  if (results.burst) out.push("", heading("Cold burst"), ...burstLines(results.burst));
  if (results.notes.length > 0) out.push("", heading("Notes"), ...results.notes.map((n) => `- ${n}`));
  return out.join("\n");
}

export function formatText(results: BenchResults): string {
  return sections(results, textTable, (title) => `== ${title} ==`);
}

export function formatMarkdown(results: BenchResults, chartFile: string): string {
  const body = sections(results, markdownTable, (title) => `## ${title}`)
    .split("\n")
    .map((line) =>
      line.startsWith("|") || line.startsWith("#") || line === "" || line.startsWith("- ")
        ? line
        : `${line}  `,
    )
    .join("\n");
  return `${body}\n\n![latency percentiles per server](${chartFile})\n`;
}
