import { parseArgs } from "node:util";
import { type AuditRecord, readAuditRecord } from "./audit-record.js";
import type { CliIo } from "./cli-io.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_OK } from "./exit-codes.js";
import { USAGE } from "./help.js";
import { parseTrigger } from "./interceptor-route.js";
import { plural } from "./print.js";
import { parseFlags } from "./request-flags.js";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 10_000;
const LATENCY_COLUMN = 6;

/** What a decision must match to be listed; an absent field matches any. */
interface DecisionFilter {
  decision?: string;
  trigger?: string;
  reason?: string;
  rule?: string;
  environment?: string;
  /** Not before this time (ms since the epoch). */
  since?: number;
}

/** One decision listed: the record as stored, and as read for printing. */
interface Listed {
  raw: Record<string, unknown>;
  record: AuditRecord;
}

/**
 * `gatehouse decisions [--decision ALLOW|DENY] [--trigger <t>] [--reason <r>] [--rule <name>] [--env <id>]
 * [--since <duration>] [--limit <n>] [--test] [--json]`: the newest decisions of the audit stream that match,
 * newest first, a line each — to find what was denied and why, and the interceptor ids to `explain`. Reads
 * the stream newest first and stops at `--limit` matches, at `--since`, or at the start of the stream (it is
 * capped). Exit 0 (also when nothing matches), 1 Redis unreachable, 2 a bad flag.
 */
export async function decisionsCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(() =>
    parseArgs({
      args,
      options: {
        decision: { type: "string" },
        trigger: { type: "string" },
        reason: { type: "string" },
        rule: { type: "string" },
        env: { type: "string" },
        since: { type: "string" },
        limit: { type: "string" },
        test: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (values.help) {
    io.stdout(USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT))
    throw new UsageError(
      `--limit: "${values.limit}" must be a whole number from 1 to ${MAX_LIMIT}`,
      "--limit",
    );
  const decision = values.decision?.toUpperCase();
  if (decision !== undefined && decision !== "ALLOW" && decision !== "DENY")
    throw new UsageError(`--decision: "${values.decision}" must be ALLOW or DENY`, "--decision");

  // Loaded on use: a Redis client would slow every other command's start.
  const [{ cacheKeys }, { durationSeconds }, { connectRedis, redisFailure, redisTarget }, stream] =
    await Promise.all([
      import("@gatehouse/decision-cache"),
      import("@gatehouse/policy"),
      import("./cli-redis.js"),
      import("./audit-stream.js"),
    ]);
  let since: number | undefined;
  if (values.since !== undefined) {
    const seconds = durationSeconds.safeParse(values.since);
    if (!seconds.success)
      throw new UsageError(
        `--since: "${values.since}" must be ${seconds.error.issues[0]?.message}`,
        "--since",
      );
    since = Date.now() - seconds.data * 1000;
  }
  const filter: DecisionFilter = {
    ...(decision !== undefined && { decision }),
    ...(values.trigger !== undefined && { trigger: parseTrigger(values.trigger) }),
    ...(values.reason !== undefined && { reason: values.reason }),
    ...(values.rule !== undefined && { rule: values.rule }),
    ...(values.env !== undefined && { environment: values.env }),
    ...(since !== undefined && { since }),
  };

  const keys = cacheKeys(env.keyPrefix);
  const name = values.test ? keys.testAuditStream : keys.auditStream;
  const target = redisTarget(env);
  const redis = await connectRedis(target);
  try {
    const listed: Listed[] = [];
    let read = 0;
    let oldest: number | undefined;
    let more = false;
    try {
      scan: for await (const { entryId, packed } of stream.auditBatches(redis, name)) {
        const written = stream.entryMs(entryId);
        // A batch is written after its records were answered: an older batch holds only older ones.
        if (since !== undefined && written < since) break;
        oldest = written;
        const records = stream.batchRecords(packed);
        for (let i = records.length - 1; i >= 0; i--) {
          read++;
          const raw = records[i] as Record<string, unknown>;
          const record = readAuditRecord(raw);
          if (!matches(record, filter)) continue;
          if (listed.length === limit) {
            more = true;
            break scan;
          }
          listed.push({ raw, record });
        }
      }
    } catch (error) {
      throw redisFailure(target, error);
    }
    io.stdout(
      values.json
        ? `${JSON.stringify({ stream: name, decisions: listed.map((l) => l.raw), read, more })}\n`
        : formatDecisions(listed, { stream: name, read, oldest, more, limit, test: values.test === true }),
    );
    return EXIT_OK;
  } finally {
    redis.disconnect();
  }
}

function matches(record: AuditRecord, filter: DecisionFilter): boolean {
  if (filter.decision !== undefined && record.decision !== filter.decision) return false;
  if (filter.trigger !== undefined && record.trigger !== filter.trigger) return false;
  if (filter.rule !== undefined && record.rule !== filter.rule) return false;
  if (filter.environment !== undefined && record.environmentId !== filter.environment) return false;
  if (filter.since !== undefined && (record.at === undefined || record.at < filter.since)) return false;
  if (filter.reason !== undefined) {
    // `signature` matches `signature.expired`; a full reason matches only itself.
    const reason = record.reason ?? "";
    const prefix = filter.reason.endsWith(".") ? filter.reason : `${filter.reason}.`;
    if (reason !== filter.reason && !reason.startsWith(prefix)) return false;
  }
  return true;
}

/** A table of the decisions, newest first, and a line saying how far back the stream was read. */
function formatDecisions(
  listed: Listed[],
  scan: {
    stream: string;
    read: number;
    oldest: number | undefined;
    more: boolean;
    limit: number;
    test: boolean;
  },
): string {
  const rows = listed.map(({ record }) => [
    record.at === undefined ? "?" : new Date(record.at).toISOString(),
    record.trigger ?? "?",
    record.decision ?? "?",
    record.reason ?? "?",
    record.rule ?? "-",
    record.cache ?? "?",
    record.ms === undefined ? "?" : `${record.ms} ms`,
    record.interceptorId ?? "(unverified)",
  ]);
  const lines: string[] = [];
  if (rows.length > 0) {
    const header = ["when", "trigger", "decision", "reason", "rule", "cache", "latency", "interceptor id"];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
    );
    // The latency column is right-aligned, so its figures line up.
    const line = (cells: string[]) =>
      cells
        .map((cell, column) =>
          column === LATENCY_COLUMN
            ? cell.padStart(widths[column] as number)
            : cell.padEnd(widths[column] as number),
        )
        .join("  ")
        .trimEnd();
    lines.push(line(header), ...rows.map(line));
  }
  const back = scan.oldest === undefined ? "" : `, back to ${new Date(scan.oldest).toISOString()}`;
  const found =
    rows.length === 0
      ? "no decision matches"
      : `${plural(rows.length, "decision")}, newest first${scan.more ? ` (--limit ${scan.limit}: older ones match too)` : ""}`;
  lines.push(`${found}; read ${plural(scan.read, "decision")} of ${scan.stream}${back}`);
  if (scan.read === 0)
    lines.push(
      scan.test
        ? "  the stream is empty: test requests (gatehouse send) are audited here; check REDIS_URL and GATEHOUSE_KEY_PREFIX"
        : "  the stream is empty: check REDIS_URL and GATEHOUSE_KEY_PREFIX; test requests (gatehouse send) are read with --test",
    );
  return `${lines.join("\n")}\n`;
}
