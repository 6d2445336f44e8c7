import { Cluster } from "ioredis";
import type { RedisClient } from "./create-redis.js";

/**
 * The string values of `keys`, in order, null where a key holds none. On one Redis: one MGET, a single
 * command — no pipeline object, which ioredis builds with a copy of every script the connection knows
 * (BullMQ's dozens, on the ingress' background connection). On a cluster, where MGET must stay within one
 * slot: one GET per key, sent together (ioredis auto-pipelines them per node). A key of another type reads
 * as null on one Redis (as MGET has it) and fails the call on a cluster (as GET has it).
 */
export async function getMany(client: RedisClient, keys: readonly string[]): Promise<(string | null)[]> {
  if (keys.length === 0) return [];
  if (client instanceof Cluster) return Promise.all(keys.map((key) => client.get(key)));
  return client.mget(keys as string[]);
}
