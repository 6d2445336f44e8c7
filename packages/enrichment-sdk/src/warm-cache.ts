import { type CacheKeys, writeFacts } from "@gatehouse/decision-cache";
import type { RedisClient } from "@gatehouse/redis";
import type { AnyEnrichment, EnrichmentHandler } from "./define-enrichment.js";
import { factKey } from "./fact-key.js";
import { DEFAULTS } from "./settings.js";

/**
 * Writes every fact an enrichment knows without I/O (its `warm()` list) into the cache, so the common case
 * is a hit from the first request. Skipped while another worker's warm is still fresh (half the TTL).
 * Returns how many facts were written.
 */
export async function warmCache(
  redis: RedisClient,
  keys: CacheKeys,
  enrichment: AnyEnrichment,
  handler: EnrichmentHandler<unknown, unknown>,
): Promise<number> {
  if (!handler.warm) return 0;
  const ttlSeconds = enrichment.ttlSeconds ?? DEFAULTS.ttlSeconds;
  const marker = keys.warmMarker(enrichment.name, enrichment.version);
  const claimed = await redis.set(
    marker,
    String(Date.now()),
    "EX",
    Math.max(1, Math.floor(ttlSeconds / 2)),
    "NX",
  );
  if (claimed !== "OK") return 0;
  try {
    const entries = function* () {
      for (const { input, fact } of handler.warm?.() ?? [])
        yield { key: factKey(keys, enrichment, input), fact };
    };
    return await writeFacts(redis, entries(), ttlSeconds);
  } catch (error) {
    await redis.del(marker).catch(() => {});
    throw error;
  }
}
