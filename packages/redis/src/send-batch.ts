import { Cluster } from "ioredis";
import type { RedisClient } from "./create-redis.js";

export type Command = readonly [name: string, ...args: (string | number | Buffer)[]];

/**
 * Sends commands together and resolves with their replies in order, rejecting with the first failure (a
 * pipeline resolves even when some of its commands failed, e.g. OOM under noeviction). On one Redis: one
 * pipeline, one round trip. On a cluster, where a pipeline must stay within one slot: every command at
 * once, which ioredis auto-pipelines per node.
 */
export async function sendBatch(client: RedisClient, commands: readonly Command[]): Promise<unknown[]> {
  if (commands.length === 0) return [];
  if (client instanceof Cluster) {
    return Promise.all(commands.map(([name, ...args]) => client.call(name, ...args)));
  }
  // ioredis' pipeline takes command names in lower case only.
  const results = await client
    .pipeline(commands.map(([name, ...args]) => [name.toLowerCase(), ...args]))
    .exec();
  return (results ?? []).map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}
