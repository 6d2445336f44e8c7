import type { RedisClient } from "@gatehouse/redis";

/** Every audit record in a stream, oldest first: each stream entry packs a batch as a JSON array. */
export async function readAudit(redis: RedisClient, stream: string): Promise<Record<string, unknown>[]> {
  const entries = await redis.xrange(stream, "-", "+");
  return entries.flatMap(([, fields]) => JSON.parse(fields[1] ?? "[]") as Record<string, unknown>[]);
}
