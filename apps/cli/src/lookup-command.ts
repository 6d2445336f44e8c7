import type { FactRecord } from "@gatehouse/decision-cache";
import type { JobView, SubjectJob } from "@gatehouse/enrichment-sdk";
import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import { enrichmentsNamed } from "./enrichment-flag.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_NOT_FOUND, EXIT_OK } from "./exit-codes.js";
import { relativeTime } from "./print.js";
import { requestCarrying, type SubjectValues, valueOfLine } from "./subject-request.js";

/** What the cache and the queues hold for one enrichment's subject. */
interface Lookup {
  enrichment: string;
  /** Undefined: the values give this enrichment nothing to look up. */
  subject?: string;
  key?: string;
  /** The fact as cached, or null when it is not. */
  cached?: FactRecord | null;
  /** How long the key lives yet, in ms (Redis' PTTL). */
  expiresInMs?: number;
  job?: SubjectJob;
}

/**
 * `gatehouse lookup [<email|ip>…] [--email e] [--ip i] [--org o] [--user u] [--client c] [--enrichment n]…
 * [--json]`: what the decision cache holds for the subjects of a request carrying these values — for every
 * registered enrichment whose `fromRequest` finds one — with when it was computed, when it is refreshed and
 * expires, and the subject's job: waiting, running, retrying or failed, with its error. The question "why is
 * this address denied (or never cached)?". Exit 0 every fact cached, 4 one is not, 1 Redis unreachable, 2 a
 * bad value or flag.
 */
export async function lookupCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(
    args,
    {
      email: { type: "string" },
      ip: { type: "string" },
      org: { type: "string" },
      user: { type: "string" },
      client: { type: "string" },
      enrichment: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
    io,
  );
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const given: SubjectValues = {
    email: values.email,
    ip: values.ip,
    org: values.org,
    user: values.user,
    client: values.client,
  };
  for (const value of positionals) {
    const [column, bare] = Object.entries(valueOfLine(value))[0] as [keyof SubjectValues, string];
    if (given[column] !== undefined)
      throw new UsageError(
        `lookup: two values for ${column} ("${given[column]}", "${bare}"): one request carries one`,
      );
    given[column] = bare;
  }
  const carried = requestCarrying(given);
  if (carried === undefined)
    throw new UsageError("lookup: nothing to look up: give an email or IP, or --org, --user, --client");
  if (!carried.ok) throw new UsageError(`lookup: ${carried.problems.join("; ")}`);

  // Loaded on use: the enrichments and a Redis client would slow every other command's start.
  const [{ cacheKeys, decodeFact }, { factKey, subjectJob }, { connectRedis, redisFailure, redisTarget }] =
    await Promise.all([
      import("@gatehouse/decision-cache"),
      import("@gatehouse/enrichment-sdk"),
      import("./cli-redis.js"),
    ]);
  const enrichments = await enrichmentsNamed(values.enrichment);

  const keys = cacheKeys(env.keyPrefix);
  const target = redisTarget(env);
  const redis = await connectRedis(target);
  try {
    const lookups: Lookup[] = [];
    try {
      for (const enrichment of enrichments) {
        const input = enrichment.fromRequest(carried.request);
        if (input === undefined) {
          lookups.push({ enrichment: enrichment.name });
          continue;
        }
        const key = factKey(keys, enrichment, input);
        const [raw, pttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
        const cached = raw === null ? null : (decodeFact(raw) ?? null);
        const lookup: Lookup = {
          enrichment: enrichment.name,
          subject: enrichment.subject(input),
          key,
          cached,
        };
        if (cached !== null && pttl >= 0) lookup.expiresInMs = pttl;
        lookup.job = await subjectJob(redis, keys.prefix, enrichment, input);
        lookups.push(lookup);
      }
    } catch (error) {
      throw redisFailure(target, error);
    }
    io.stdout(values.json ? `${JSON.stringify({ lookups })}\n` : formatLookups(lookups));
    return lookups.some((lookup) => lookup.cached === null) ? EXIT_NOT_FOUND : EXIT_OK;
  } finally {
    redis.disconnect();
  }
}

function formatLookups(lookups: Lookup[], now = Date.now()): string {
  const lines: string[] = [];
  const when = (ms: number) => `${new Date(ms).toISOString()} (${relativeTime(ms, now)})`;
  for (const lookup of lookups) {
    if (lookup.subject === undefined) {
      lines.push(`${lookup.enrichment}: nothing to look up in these values`);
      continue;
    }
    lines.push(`${lookup.enrichment}: ${lookup.subject}`);
    if (lookup.cached) {
      lines.push(`  fact        ${JSON.stringify(lookup.cached.fact)}`);
      lines.push(`  computed    ${when(lookup.cached.at)}`);
      lines.push(`  refresh     ${when(lookup.cached.refreshAt)}`);
      if (lookup.expiresInMs !== undefined) lines.push(`  expires     ${when(now + lookup.expiresInMs)}`);
    } else {
      lines.push(
        "  fact        not cached: a request needing it waits or answers onMiss (gatehouse warm asks for it)",
      );
    }
    const { current, lastFailed } = lookup.job ?? {};
    if (current) lines.push(`  job         ${jobLine(current, now)}`);
    else if (lastFailed) lines.push(`  job         none waiting; the last ${jobLine(lastFailed, now)}`);
    else lines.push("  job         none waiting or failed");
    lines.push(`  key         ${lookup.key}`);
  }
  return `${lines.join("\n")}\n`;
}

function jobLine(job: JobView, now: number): string {
  const runs = `${job.attemptsMade} of ${job.attempts} runs`;
  const error = job.failedReason ? `: ${job.failedReason}` : "";
  if (job.state === "failed")
    return `failed ${job.finishedAt === undefined ? "" : relativeTime(job.finishedAt, now)} after ${runs}${error} (job ${job.id})`;
  return `${job.state} since ${relativeTime(job.addedAt, now)}, ${runs}${job.attemptsMade > 0 ? error : ""} (job ${job.id})`;
}
