import type { CliIo } from "./cli-io.js";
import { commandArgs } from "./command-args.js";
import type { CliEnv } from "./env.js";
import { UsageError } from "./errors/usage-error.js";
import { EXIT_NOT_FOUND, EXIT_OK } from "./exit-codes.js";
import { entryTime, formatExplain, formatExplainJson } from "./explain-print.js";

/**
 * `gatehouse explain <interceptor-id> [--test] [--json]`: the audit record of one decision, from the audit
 * stream in Redis (`--test`: the stream of test requests). Exit 0 found, 4 not found, 1 Redis unreachable.
 */
export async function explainCommand(args: string[], env: CliEnv, io: CliIo): Promise<number> {
  const parsed = commandArgs(
    args,
    {
      test: { type: "boolean" },
      json: { type: "boolean" },
    },
    io,
  );
  if (!parsed) return EXIT_OK;
  const { values, positionals } = parsed;
  const [interceptorId, ...extra] = positionals;
  if (interceptorId === undefined || interceptorId === "") {
    throw new UsageError("explain: missing <interceptor-id> (the interceptor-id header of the request)");
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);

  // Loaded on use, like the policy engine: a Redis client would slow every other command's start.
  const [{ cacheKeys }, { connectRedis, redisFailure, redisTarget }, { findAuditRecord }] = await Promise.all(
    [import("@gatehouse/decision-cache"), import("./cli-redis.js"), import("./audit-stream.js")],
  );
  const keys = cacheKeys(env.keyPrefix);
  const stream = values.test ? keys.testAuditStream : keys.auditStream;
  const target = redisTarget(env);
  const redis = await connectRedis(target);
  try {
    const search = await findAuditRecord(redis, stream, interceptorId).catch((error: unknown) => {
      throw redisFailure(target, error);
    });
    if (search.found) {
      const { record, entryId } = search.found;
      io.stdout(values.json ? formatExplainJson(record) : formatExplain(record, { stream, entryId }));
      return EXIT_OK;
    }
    const since = search.oldestEntryId && entryTime(search.oldestEntryId);
    const other = values.test
      ? `production decisions are in ${keys.auditStream}: drop --test`
      : `test requests (gatehouse send) are in ${keys.testAuditStream}: add --test`;
    const kept =
      search.batches === 0
        ? "the stream is empty: check REDIS_URL and GATEHOUSE_KEY_PREFIX"
        : `the audit keeps the last ${search.batches} batches${since ? `, since ${since}` : ""}`;
    io.stderr(
      [
        `gatehouse: ${interceptorId}: not found in ${stream} (${kept})`,
        `  ${other}`,
        "  a request whose signature failed is audited without its id",
        "",
      ].join("\n"),
    );
    return EXIT_NOT_FOUND;
  } finally {
    redis.disconnect();
  }
}
