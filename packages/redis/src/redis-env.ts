import { type RefinementCtx, z } from "zod";
import type { RedisConnectionOptions } from "./create-redis.js";
import { parseNodeList } from "./node-list.js";

const nodeList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined) return undefined;
    try {
      return parseNodeList(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  });

/**
 * The Redis settings every process reads, as a zod shape to spread into each app's environment schema
 * (with `checkRedisEnv` as a refinement of the whole).
 */
export const redisEnvShape = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .default("redis://127.0.0.1:6379"),
  /** A Redis Cluster's nodes (`host:port` or `redis[s]://…` URLs, comma-separated): used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: nodeList,
  /**
   * Redis Sentinels (`host:port` or `redis[s]://…` URLs, comma-separated): REDIS_URL's host is then the name
   * of the master group they watch (`redis://:password@mymaster`).
   */
  REDIS_SENTINELS: nodeList,
};

/** What the settings say together: a cluster or Sentinels, not both. */
export function checkRedisEnv(
  env: { REDIS_CLUSTER_NODES?: unknown; REDIS_SENTINELS?: unknown },
  ctx: RefinementCtx,
): void {
  if (env.REDIS_CLUSTER_NODES !== undefined && env.REDIS_SENTINELS !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["REDIS_SENTINELS"],
      message: "set either REDIS_SENTINELS or REDIS_CLUSTER_NODES: a Redis Cluster has no Sentinels",
    });
  }
}

/** Where a process connects, from its parsed environment. */
export function redisTarget(env: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly string[] | undefined;
  REDIS_SENTINELS?: readonly string[] | undefined;
}): RedisTarget {
  if (env.REDIS_CLUSTER_NODES) return { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES };
  if (env.REDIS_SENTINELS) return { url: env.REDIS_URL, sentinels: env.REDIS_SENTINELS };
  return { url: env.REDIS_URL };
}

/** Which Redis a process uses: one (`url`), a cluster, or the one some Sentinels point to. */
export type RedisTarget = Pick<RedisConnectionOptions, "url" | "clusterNodes" | "sentinels">;
