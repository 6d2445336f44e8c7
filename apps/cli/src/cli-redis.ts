import {
  clusterNodeProblem,
  createRedis,
  isCluster,
  nodeListDisplay,
  redisTarget as processRedisTarget,
  type RedisClient,
  type RedisTarget,
} from "@gatehouse/redis";
import type { CliEnv } from "./env.js";
import { NetworkError } from "./errors/network-error.js";

/**
 * The Redis a command reads (`decisions`, `explain`) or enqueues into (`warm`), as the ingress finds it:
 * `REDIS_CLUSTER_NODES` when set, the master `REDIS_SENTINELS` point to, else `REDIS_URL`.
 */
export function redisTarget(env: CliEnv): RedisTarget {
  return processRedisTarget({
    REDIS_URL: env.redisUrl,
    REDIS_CLUSTER_NODES: env.redisClusterNodes,
    REDIS_SENTINELS: env.redisSentinels,
  });
}

/** A command against `target` failed: a `NetworkError` (exit 1) naming it, without its password. */
export function redisFailure(target: RedisTarget, error: unknown): NetworkError {
  return new NetworkError(redisDisplay(target), (error as Error).message, { cause: error });
}

/** Where the CLI reads from, for messages: the cluster's nodes, the Sentinels, or the URL — never a password. */
function redisDisplay(target: RedisTarget): string {
  if (target.clusterNodes) return `Redis Cluster ${nodeListDisplay(target.clusterNodes)}`;
  // `redis://user:password@host:6379/0` → `redis://host:6379/0`, as the nodes' entries are shown.
  const url = nodeListDisplay([target.url]);
  return target.sentinels ? `${url} through Sentinels ${nodeListDisplay(target.sentinels)}` : url;
}

/**
 * Connects with the request-path profile (no offline queue: a command fails at once instead of waiting
 * for a Redis that is gone) and waits for the connection, at most `timeoutMs`. Throws a `NetworkError`:
 * at the first error from one Redis (it is unreachable: no reason to wait), at the timeout from a cluster,
 * naming the last error seen — a cluster client reports each failed attempt to fetch the slot map (a node
 * slow to answer while the cluster forms, one restarting) and tries again, and a later attempt may succeed —
 * and what a plain connection to its first node meets (the cause ioredis leaves unsaid: clusterNodeProblem).
 */
export async function connectRedis(target: RedisTarget, timeoutMs = 3_000): Promise<RedisClient> {
  const redis = createRedis({ ...target, name: "cli", commandTimeoutMs: 10_000 }, "request-path");
  let lastError: Error | undefined;
  // Errors after the connection surface through the commands that fail; without a listener they would crash.
  redis.on("error", (error: Error & { lastNodeError?: Error }) => {
    // A cluster's "Failed to refresh slots cache." says why in the error of the last node it asked.
    lastError = error.lastNodeError ? new Error(`${error.message} ${error.lastNodeError.message}`) : error;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(lastError ?? new Error(`no connection within ${timeoutMs} ms`)),
        timeoutMs,
      );
      redis.once("ready", () => resolve());
      if (!isCluster(redis)) redis.once("error", reject);
    });
    return redis;
  } catch (error) {
    redis.disconnect();
    const problem = target.clusterNodes && (await clusterNodeProblem(target.clusterNodes));
    if (problem) throw redisFailure(target, new Error(`${(error as Error).message} (${problem})`));
    // ioredis' "All sentinels are unreachable. Retrying from scratch after 10ms. Last error: …": the CLI
    // does not retry.
    const message = (error as Error).message.replace(/ Retrying from scratch after \d+ms\./, "");
    throw redisFailure(target, message === (error as Error).message ? error : new Error(message));
  } finally {
    clearTimeout(timer);
  }
}
