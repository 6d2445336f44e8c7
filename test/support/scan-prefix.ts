import type { Redis } from "ioredis";

export interface ScannedKey {
  readonly key: string;
  readonly type: string;
  /** Milliseconds to live; -1 for a key without a TTL. */
  readonly pttl: number;
}

/** Every key under `prefix`, with its type and PTTL; keys that expire during the scan are left out. */
export async function scanPrefix(redis: Redis, prefix: string): Promise<ScannedKey[]> {
  const seen = new Set<string>(); // SCAN may return a key twice
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
    cursor = next;
    for (const key of batch) seen.add(key);
  } while (cursor !== "0");
  const keys = [...seen];
  const found: ScannedKey[] = [];
  for (let start = 0; start < keys.length; start += 1000) {
    const chunk = keys.slice(start, start + 1000);
    const pipeline = redis.pipeline();
    for (const key of chunk) pipeline.type(key).pttl(key);
    const results = (await pipeline.exec()) ?? [];
    chunk.forEach((key, i) => {
      const type = String(results[2 * i]?.[1]);
      if (type !== "none") found.push({ key, type, pttl: Number(results[2 * i + 1]?.[1]) });
    });
  }
  return found;
}
