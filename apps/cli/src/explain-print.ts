import { readAuditRecord } from "./audit-record.js";
import { entryMs } from "./audit-stream.js";
import { relativeTime } from "./print.js";

const CACHE: Record<string, string> = {
  hit: "every fact the policy read was cached",
  memory: "every fact the policy read was in the ingress' memory: no Redis round trip",
  miss: "a fact was not cached: the policy decided without it (onMiss)",
  waited: "a fact was not cached and arrived while the request waited",
  none: "no cached fact was read (the trigger reads none, or the request was answered before the policy)",
  repeat: "an idempotent repeat: the answer of the first request with this id",
  error: "Redis failed or the deadline passed: the trigger's fallback answered",
};

/** `name  value` lines under a heading, or `heading  (none)`; nothing when the record lacks the field. */
function section(heading: string, entries: [string, string][] | undefined): string[] {
  if (entries === undefined) return [];
  if (entries.length === 0) return [`${heading.padEnd(12)} (none)`];
  const width = Math.max(...entries.map(([name]) => name.length));
  return [heading, ...entries.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`)];
}

const jsonEntries = (value: Record<string, unknown> | undefined) =>
  value && Object.entries(value).map(([name, fact]): [string, string] => [name, JSON.stringify(fact)]);

/** What `explain` prints: one decision, readably, from its audit record. */
export function formatExplain(
  raw: Record<string, unknown>,
  where: { stream: string; entryId: string },
  now = Date.now(),
): string {
  const record = readAuditRecord(raw);
  const rows: [string, string | undefined][] = [
    ["interceptor", record.interceptorId ?? undefined],
    [
      "when",
      record.at === undefined
        ? undefined
        : `${new Date(record.at).toISOString()} (${relativeTime(record.at, now)})`,
    ],
    ["trigger", record.trigger],
    ["decision", record.decision],
    ["reason", record.reason],
    [
      "rule",
      record.rule === undefined
        ? undefined
        : (record.rule ?? "none: the default, onMiss, a fallback or a check before the policy (see reason)"),
    ],
    [
      "cache",
      record.cache === undefined
        ? undefined
        : `${record.cache}${CACHE[record.cache] ? ` (${CACHE[record.cache]})` : ""}`,
    ],
    ["latency", record.ms === undefined ? undefined : `${record.ms} ms`],
    ["policy", record.policy === undefined ? undefined : (record.policy ?? "unknown")],
    ["environment", record.environmentId ?? undefined],
    ["test", record.test ? "yes: sent by gatehouse send, audited apart from production" : undefined],
  ];
  const lines = rows.flatMap(([name, value]) => (value === undefined ? [] : [`${name.padEnd(12)} ${value}`]));
  lines.push(
    ...section("facts", jsonEntries(record.facts)),
    ...section("team", jsonEntries(record.team)),
    ...section(
      "counts",
      record.counts && Object.entries(record.counts).map(([id, n]): [string, string] => [id, String(n)]),
    ),
    ...section(
      "shadow",
      record.shadow?.map((hit): [string, string] => [hit.rule, `would ${hit.decision} (${hit.reason})`]),
    ),
    `${"audit".padEnd(12)} ${where.stream} entry ${where.entryId}`,
  );
  return `${lines.join("\n")}\n`;
}

/** What `explain --json` prints: the record exactly as stored. */
export function formatExplainJson(record: Record<string, unknown>): string {
  return `${JSON.stringify(record)}\n`;
}

/** When the oldest batch of a stream was written, from its entry id (`<ms>-<seq>`). */
export function entryTime(entryId: string): string | undefined {
  const ms = entryMs(entryId);
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : undefined;
}
