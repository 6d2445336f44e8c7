import { type Command, type RedisClient, sendBatch } from "@gatehouse/redis";
import { encodeFact } from "./fact-record.js";
import type { CacheKeys } from "./keys.js";

/** The workers' side: store a fact with its TTL and announce it to every waiting ingress, in one round trip. */
export async function writeFact(
  redis: RedisClient,
  keys: CacheKeys,
  key: string,
  fact: unknown,
  ttlSeconds: number,
): Promise<void> {
  const value = encodeFact(fact, ttlSeconds);
  await sendBatch(redis, [
    ["SET", key, value, "EX", ttlSeconds],
    ["PUBLISH", keys.announceChannel, `${key}\n${value}`],
  ]);
}

/** Bulk write without announcements (nobody waits for a warm); chunked so no single batch is huge. */
export async function writeFacts(
  redis: RedisClient,
  entries: Iterable<{ key: string; fact: unknown }>,
  ttlSeconds: number,
  chunk = 1000,
): Promise<number> {
  let batch: Command[] = [];
  let written = 0;
  const now = Date.now();
  for (const { key, fact } of entries) {
    batch.push(["SET", key, encodeFact(fact, ttlSeconds, now), "EX", ttlSeconds]);
    if (batch.length === chunk) {
      await sendBatch(redis, batch);
      written += batch.length;
      batch = [];
    }
  }
  await sendBatch(redis, batch);
  return written + batch.length;
}
