import { z } from "zod";
import { parseClusterNodes } from "./cluster-nodes.js";
import type { RedisConnectionOptions } from "./create-redis.js";

/** The Redis settings every process reads, as a zod shape to spread into each app's environment schema. */
export const redisEnvShape = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .default("redis://127.0.0.1:6379"),
  /** A Redis Cluster's nodes (`host:port` or `redis[s]://…` URLs, comma-separated): used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      try {
        return parseClusterNodes(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    }),
};

/** Where a process connects, from its parsed environment. */
export function redisTarget(env: {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly string[] | undefined;
}): Pick<RedisConnectionOptions, "url" | "clusterNodes"> {
  return env.REDIS_CLUSTER_NODES
    ? { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES }
    : { url: env.REDIS_URL };
}
