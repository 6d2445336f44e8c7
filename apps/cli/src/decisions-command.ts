import type { RedisClient } from "@gatehouse/redis";
import { type AuditRecord, readAuditRecord } from "./audit-record.js";
import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import {
  type DecisionCount,
  followHeader,
  followLine,
  formatCounts,
  formatDecisions,
} from "./decisions-print.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_OK } from "./exit-codes.js";
import { parseTrigger } from "./interceptor-route.js";

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 10_000;

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

/**
 * `gatehouse decisions [--decision ALLOW|DENY] [--trigger <t>] [--reason <r>] [--rule <name>] [--env <id>]
 * [--since <duration>] [--limit <n> | --count] [--test] [--json]`: the newest decisions of the audit stream
 * that match, newest first, a line each — to find what was denied and why, and the interceptor ids to
 * `explain`; with `--count`, how many of each trigger, decision, reason and rule. Reads the stream newest
 * first and stops at `--limit` matches, at `--since`, or at the start of the stream (it is capped). Exit 0
 * (also when nothing matches), 1 Redis unreachable, 2 a bad flag.
 */
export async function decisionsCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(
    args,
    {
      decision: { type: "string" },
      trigger: { type: "string" },
      reason: { type: "string" },
      rule: { type: "string" },
      env: { type: "string" },
      since: { type: "string" },
      limit: { type: "string" },
      count: { type: "boolean" },
      follow: { type: "boolean", short: "f" },
      test: { type: "boolean" },
      json: { type: "boolean" },
    },
    io,
  );
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const limit = values.limit === undefined ? DEFAULT_LIMIT : Number(values.limit);
  if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_LIMIT))
    throw new UsageError(
      `--limit: "${values.limit}" must be a whole number from 1 to ${MAX_LIMIT}`,
      "--limit",
    );
  if (values.count && values.limit !== undefined)
    throw new UsageError(
      "--limit: --count counts every decision that matches; narrow it with --since",
      "--limit",
    );
  if (values.follow && (values.count || values.limit !== undefined || values.since !== undefined))
    throw new UsageError(
      "--follow prints decisions as they are made: no --count, --limit or --since",
      "--follow",
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
    if (values.follow) {
      await follow(redis, name, filter, io, values.json === true).catch((error: unknown) => {
        throw redisFailure(target, error);
      });
      return EXIT_OK;
    }
    // What the scan keeps of each match: the records (as stored, for --json, and as read), or their counts.
    // False: the list is full.
    const listed: { raw: Record<string, unknown>; record: AuditRecord }[] = [];
    const counted = new Map<string, DecisionCount>();
    const take = (raw: Record<string, unknown>, record: AuditRecord): boolean => {
      if (values.count) {
        countInto(counted, record);
        return true;
      }
      if (listed.length === limit) return false;
      listed.push({ raw, record });
      return true;
    };
    let read = 0;
    let oldest: number | undefined;
    let more = false;
    try {
      batches: for await (const { entryId, packed } of stream.auditBatches(redis, name)) {
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
          if (!take(raw, record)) {
            more = true;
            break batches;
          }
        }
      }
    } catch (error) {
      throw redisFailure(target, error);
    }
    const scan = { stream: name, read, oldest, test: values.test === true };
    const counts = [...counted.values()].sort((a, b) => b.count - a.count);
    if (values.json)
      io.stdout(
        `${JSON.stringify(values.count ? { stream: name, counts, read } : { stream: name, decisions: listed.map((l) => l.raw), read, more })}\n`,
      );
    else if (values.count) io.stdout(formatCounts(counts, scan));
    else
      io.stdout(
        formatDecisions(
          listed.map((l) => l.record),
          { ...scan, more, limit },
        ),
      );
    return EXIT_OK;
  } finally {
    redis.disconnect();
  }
}

/**
 * Prints each matching decision as the ingress writes it, oldest first (`--json`: a JSON line each, as
 * stored), until SIGINT or SIGTERM.
 */
async function follow(
  redis: RedisClient,
  name: string,
  filter: DecisionFilter,
  io: CliIo,
  json: boolean,
): Promise<void> {
  const { auditStreamEnd, newAuditBatches, batchRecords } = await import("./audit-stream.js");
  const end = await auditStreamEnd(redis, name);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    if (!json) io.stdout(followHeader());
    for await (const { packed } of newAuditBatches(redis, name, end, stop.signal)) {
      for (const raw of batchRecords(packed)) {
        const record = readAuditRecord(raw);
        if (matches(record, filter)) io.stdout(json ? `${JSON.stringify(raw)}\n` : followLine(record));
      }
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Counts a decision under its trigger, decision, reason and rule. */
function countInto(counted: Map<string, DecisionCount>, record: AuditRecord): void {
  const trigger = record.trigger ?? "?";
  const decision = record.decision ?? "?";
  const reason = record.reason ?? "?";
  const rule = record.rule ?? null;
  const key = `${trigger}\t${decision}\t${reason}\t${rule}`;
  const seen = counted.get(key);
  if (seen) seen.count++;
  else counted.set(key, { trigger, decision, reason, rule, count: 1 });
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
