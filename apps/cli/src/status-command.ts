import type { JobCounts } from "@gatehouse/enrichment-sdk";
import type { Redis, RedisClient } from "@gatehouse/redis";
import { auditStreamEnd, entryMs } from "./audit-stream.js";
import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import { enrichmentsNamed } from "./enrichment-flag.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_ATTENTION, EXIT_OK } from "./exit-codes.js";
import { plural, relativeTime, table } from "./print.js";

/** A Redis this full (of its maxmemory) needs attention before it refuses writes. */
const FULL_SHARE = 0.9;

interface RedisNode {
  address: string;
  version: string;
  role: string;
  usedBytes: number;
  /** 0: no limit. */
  maxBytes: number;
  policy: string;
}

interface EnrichmentStatus {
  enrichment: string;
  /** A worker said it runs within its last three beats (worker-presence.ts). */
  running: boolean;
  /** Workers of it ran in this deployment within the last week. */
  ranThisWeek: boolean;
  jobs: JobCounts;
}

interface AuditStatus {
  stream: "production" | "test";
  /** Entries: each a batch of the records written together. */
  batches: number;
  newestAt?: number;
}

interface Status {
  redis: RedisNode[];
  /** Connections subscribed to the workers' fact announcements: one per ingress process. */
  listening: number;
  enrichments: EnrichmentStatus[];
  audit: AuditStatus[];
  /** What needs attention; the exit code is EXIT_ATTENTION when there is any. */
  problems: string[];
}

/**
 * `gatehouse status [--json]`: what the deployment's Redis says of it — each Redis (version, role, memory
 * against maxmemory, eviction policy), how many ingress processes listen for the workers' facts, each
 * registered enrichment (whether its workers run, its queue by state) and the audit streams (how much they
 * hold, the newest decision). What needs attention is listed
 * last: an eviction policy other than noeviction, a Redis over 90% of its maxmemory, an enrichment whose
 * workers ran this week and run no more. Exit 0 nothing to attend to, 5 something is, 1 Redis unreachable.
 */
export async function statusCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(args, { json: { type: "boolean" } }, io);
  if (!parsed) return EXIT_OK;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`);

  // Loaded on use: the enrichments and a Redis client would slow every other command's start.
  const [{ cacheKeys }, { enrichmentJobCounts }, { isCluster }, { connectRedis, redisFailure, redisTarget }] =
    await Promise.all([
      import("@gatehouse/decision-cache"),
      import("@gatehouse/enrichment-sdk"),
      import("@gatehouse/redis"),
      import("./cli-redis.js"),
    ]);
  const enrichments = await enrichmentsNamed(undefined);
  const keys = cacheKeys(env.keyPrefix);
  const target = redisTarget(env);
  const redis = await connectRedis(target);
  let status: Status;
  try {
    const nodes: Redis[] = isCluster(redis) ? redis.nodes("master") : [redis];
    // A cluster's subscribers are spread over its nodes, replicas too: each counts its own.
    const subscribed: Redis[] = isCluster(redis) ? redis.nodes("all") : [redis];
    const [redisNodes, listening, enrichmentStatuses, audit] = await Promise.all([
      Promise.all(nodes.map(nodeStatus)),
      Promise.all(subscribed.map((node) => subscribers(node, keys.announceChannel))).then((counts) =>
        counts.reduce((sum, count) => sum + count, 0),
      ),
      Promise.all(
        enrichments.map(async (enrichment): Promise<EnrichmentStatus> => {
          const [running, ran, jobs] = await Promise.all([
            redis.exists(keys.workerPresence(enrichment.name)),
            redis.exists(keys.workerRan(enrichment.name)),
            enrichmentJobCounts(redis, keys.prefix, enrichment),
          ]);
          return { enrichment: enrichment.name, running: running === 1, ranThisWeek: ran === 1, jobs };
        }),
      ),
      Promise.all([
        auditStatus(redis, keys.auditStream, "production"),
        auditStatus(redis, keys.testAuditStream, "test"),
      ]),
    ]);
    status = { redis: redisNodes, listening, enrichments: enrichmentStatuses, audit, problems: [] };
  } catch (error) {
    throw redisFailure(target, error);
  } finally {
    redis.disconnect();
  }
  status.problems = problemsOf(status);
  io.stdout(parsed.values.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
  return status.problems.length > 0 ? EXIT_ATTENTION : EXIT_OK;
}

async function nodeStatus(node: Redis): Promise<RedisNode> {
  const info = parseInfo(await node.info());
  return {
    address: `${node.options.host}:${node.options.port}`,
    version: info.get("redis_version") ?? "?",
    role: info.get("role") ?? "?",
    usedBytes: Number(info.get("used_memory") ?? 0),
    maxBytes: Number(info.get("maxmemory") ?? 0),
    policy: info.get("maxmemory_policy") ?? "?",
  };
}

/** How many connections to `node` are subscribed to `channel`. */
async function subscribers(node: Redis, channel: string): Promise<number> {
  const [, count] = (await node.pubsub("NUMSUB", channel)) as [string, number];
  return Number(count);
}

/** INFO's `field:value` lines. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

async function auditStatus(
  redis: RedisClient,
  stream: string,
  name: AuditStatus["stream"],
): Promise<AuditStatus> {
  const [batches, end] = await Promise.all([redis.xlen(stream), auditStreamEnd(redis, stream)]);
  return { stream: name, batches, ...(end !== "0-0" && { newestAt: entryMs(end) }) };
}

function problemsOf(status: Status): string[] {
  const problems: string[] = [];
  for (const node of status.redis) {
    if (node.policy !== "noeviction")
      problems.push(
        `Redis ${node.address}: maxmemory-policy is ${node.policy}, not noeviction: queued jobs may be evicted`,
      );
    if (node.maxBytes > 0 && node.usedBytes >= FULL_SHARE * node.maxBytes)
      problems.push(
        `Redis ${node.address}: ${share(node)} of its maxmemory used; when full it refuses facts, jobs and audit records`,
      );
  }
  for (const enrichment of status.enrichments)
    if (!enrichment.running && enrichment.ranThisWeek)
      problems.push(
        `${enrichment.enrichment}: no worker runs it (some did this week): its facts are not computed`,
      );
  return problems;
}

const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const share = (node: RedisNode) => `${Math.round((100 * node.usedBytes) / node.maxBytes)}%`;

function formatStatus(status: Status, now = Date.now()): string {
  const lines: string[] = ["Redis"];
  const memory = (node: RedisNode) =>
    node.maxBytes > 0
      ? `${megabytes(node.usedBytes)} of ${megabytes(node.maxBytes)} (${share(node)})`
      : `${megabytes(node.usedBytes)} (no maxmemory)`;
  lines.push(
    ...indent(
      table(
        ["address", "version", "role", "memory", "policy"],
        status.redis.map((node) => [node.address, node.version, node.role, memory(node), node.policy]),
      ),
    ),
  );
  lines.push(
    "",
    `Ingress    ${plural(status.listening, "connection")} listening for the workers' facts (one per ingress process)`,
    "",
    "Enrichments",
  );
  const workers = (enrichment: EnrichmentStatus) =>
    enrichment.running ? "running" : enrichment.ranThisWeek ? "GONE" : "none has run";
  lines.push(
    ...indent(
      table(
        ["enrichment", "workers", "waiting", "active", "delayed", "failed"],
        status.enrichments.map((enrichment) => [
          enrichment.enrichment,
          workers(enrichment),
          String(enrichment.jobs.waiting + enrichment.jobs.prioritized),
          String(enrichment.jobs.active),
          String(enrichment.jobs.delayed),
          String(enrichment.jobs.failed),
        ]),
        new Set([2, 3, 4, 5]),
      ),
    ),
  );
  lines.push("", "Audit");
  for (const audit of status.audit) {
    const newest =
      audit.newestAt === undefined
        ? "no decision yet"
        : `newest decision ${new Date(audit.newestAt).toISOString()} (${relativeTime(audit.newestAt, now)})`;
    lines.push(
      `  ${audit.stream.padEnd(10)}  ${audit.batches.toLocaleString("en-US")} ${audit.batches === 1 ? "batch" : "batches"} of records, ${newest}`,
    );
  }
  lines.push("", status.problems.length === 0 ? "Nothing needs attention." : "Needs attention:");
  for (const problem of status.problems) lines.push(`  - ${problem}`);
  return `${lines.join("\n")}\n`;
}

const indent = (lines: string[]) => lines.map((line) => `  ${line}`);
