import type { Redis } from "ioredis";
import { encodeFact } from "./fact-record.js";
import type { CacheKeys } from "./keys.js";

/** The workers' side: store a fact with its TTL and announce it to every waiting ingress, in one round trip. */
export async function writeFact(
  redis: Redis,
  keys: CacheKeys,
  key: string,
  fact: unknown,
  ttlSeconds: number,
): Promise<void> {
  const value = encodeFact(fact, ttlSeconds);
  const results = await redis
    .pipeline()
    .set(key, value, "EX", ttlSeconds)
    .publish(keys.announceChannel, `${key}\n${value}`)
    .exec();
  throwFirstError(results);
}

/** A pipeline resolves even when some of its commands failed (e.g. OOM under noeviction): surface those. */
function throwFirstError(results: [Error | null, unknown][] | null): void {
  const failed = results?.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}

/** Bulk write without announcements (nobody waits for a warm); chunked so no single pipeline is huge. */
export async function writeFacts(
  redis: Redis,
  entries: Iterable<{ key: string; fact: unknown }>,
  ttlSeconds: number,
  chunk = 1000,
): Promise<number> {
  let pipeline = redis.pipeline();
  let pending = 0;
  let written = 0;
  const now = Date.now();
  for (const { key, fact } of entries) {
    pipeline.set(key, encodeFact(fact, ttlSeconds, now), "EX", ttlSeconds);
    pending++;
    if (pending === chunk) {
      throwFirstError(await pipeline.exec());
      written += pending;
      pending = 0;
      pipeline = redis.pipeline();
    }
  }
  if (pending > 0) {
    throwFirstError(await pipeline.exec());
    written += pending;
  }
  return written;
}
