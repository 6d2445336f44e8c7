import { type Command, type RedisClient, sendBatch } from "@gatehouse/redis";
import { encodeFact } from "./fact-record.js";
import type { CacheKeys } from "./keys.js";

/**
 * The workers' side: store a fact and announce it to every waiting ingress, in one round trip. It lives
 * between 9/10 of `ttlSeconds` and all of it (whole seconds): facts computed together — a warm-up, a burst
 * of new subjects — come due for refresh at different times, not in one wave of jobs every TTL.
 */
export async function writeFact(
  redis: RedisClient,
  keys: CacheKeys,
  key: string,
  fact: unknown,
  ttlSeconds: number,
): Promise<void> {
  const ttl = Math.ceil(ttlSeconds * (0.9 + 0.1 * Math.random()));
  const value = encodeFact(fact, ttl);
  await sendBatch(redis, [
    ["SET", key, value, "EX", ttl],
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
