import type { AuditRecord } from "./audit-record.js";
import { plural, table } from "./print.js";

/** How far a scan of the audit stream went. */
export interface AuditScan {
  readonly stream: string;
  /** Records read, matching or not. */
  readonly read: number;
  /** When the oldest batch read was written (ms since the epoch). */
  readonly oldest: number | undefined;
  readonly test: boolean;
}

/** Decisions counted alike: same trigger, decision, reason and rule. */
export interface DecisionCount {
  readonly trigger: string;
  readonly decision: string;
  readonly reason: string;
  readonly rule: string | null;
  count: number;
}

const DECISION_HEADER = [
  "when",
  "trigger",
  "decision",
  "reason",
  "rule",
  "cache",
  "latency",
  "interceptor id",
];
const RIGHT_ALIGNED = new Set([6]);
/** Column widths when decisions are printed as they come (`--follow`): wide enough for most. */
const FOLLOW_WIDTHS = [24, 20, 8, 22, 16, 7, 10];

function decisionRow(record: AuditRecord): string[] {
  return [
    record.at === undefined ? "?" : new Date(record.at).toISOString(),
    record.trigger ?? "?",
    record.decision ?? "?",
    record.reason ?? "?",
    record.rule ?? "-",
    record.cache ?? "?",
    record.ms === undefined ? "?" : `${record.ms} ms`,
    record.interceptorId ?? "(unverified)",
  ];
}

/** A table of decisions, newest first, and a line saying how far back the stream was read. */
export function formatDecisions(
  records: readonly AuditRecord[],
  scan: AuditScan & { readonly more: boolean; readonly limit: number },
): string {
  const rows = records.map(decisionRow);
  const found =
    rows.length === 0
      ? "no decision matches"
      : `${plural(rows.length, "decision")}, newest first${scan.more ? ` (--limit ${scan.limit}: older ones match too)` : ""}`;
  return lines(rows.length === 0 ? [] : table(DECISION_HEADER, rows, RIGHT_ALIGNED), found, scan);
}

/** `--follow`'s header line, then {@link followLine} for each decision as it comes. */
export function followHeader(): string {
  return `${table(DECISION_HEADER, [], RIGHT_ALIGNED, FOLLOW_WIDTHS)[0]}\n`;
}

export function followLine(record: AuditRecord): string {
  return `${table(DECISION_HEADER, [decisionRow(record)], RIGHT_ALIGNED, FOLLOW_WIDTHS)[1]}\n`;
}

/** The decisions that matched, counted by trigger, decision, reason and rule, the most frequent first. */
export function formatCounts(counts: readonly DecisionCount[], scan: AuditScan): string {
  const total = counts.reduce((sum, c) => sum + c.count, 0);
  const rows = counts.map((c) => [
    c.count.toLocaleString("en-US"),
    `${((100 * c.count) / total).toFixed(1)}%`,
    c.trigger,
    c.decision,
    c.reason,
    c.rule ?? "-",
  ]);
  return lines(
    rows.length === 0
      ? []
      : table(["count", "share", "trigger", "decision", "reason", "rule"], rows, new Set([0, 1])),
    total === 0 ? "no decision matches" : `${plural(total, "decision")} match`,
    scan,
  );
}

function lines(body: string[], found: string, scan: AuditScan): string {
  const back = scan.oldest === undefined ? "" : `, back to ${new Date(scan.oldest).toISOString()}`;
  const out = [...body, `${found}; read ${plural(scan.read, "decision")} of ${scan.stream}${back}`];
  if (scan.read === 0)
    out.push(
      scan.test
        ? "  the stream is empty: test requests (gatehouse send) are audited here; check REDIS_URL and GATEHOUSE_KEY_PREFIX"
        : "  the stream is empty: check REDIS_URL and GATEHOUSE_KEY_PREFIX; test requests (gatehouse send) are read with --test",
    );
  return `${out.join("\n")}\n`;
}
