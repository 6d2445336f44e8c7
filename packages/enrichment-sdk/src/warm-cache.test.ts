import { randomUUID } from "node:crypto";
import { type CacheKeys, cacheKeys, decodeFact } from "@gatehouse/decision-cache";
import { testRedis } from "@gatehouse/testing";
import { afterEach, describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { type AnyEnrichment, defineEnrichment, type EnrichmentHandler } from "./define-enrichment.js";
import { factKey } from "./fact-key.js";
import { warmCache } from "./warm-cache.js";

const _redisUrl = inject("redisUrl");
const redis = testRedis();

const prefixes: string[] = [];
afterEach(async () => {
  for (const prefix of prefixes.splice(0)) {
    const found = await redis.keys(`${prefix}:*`);
    if (found.length > 0) await redis.del(...found);
  }
});

function newKeys(): CacheKeys {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  prefixes.push(keys.prefix);
  return keys;
}

const listed = (ttlSeconds?: number) =>
  defineEnrichment({
    name: "test-list",
    version: 2,
    input: z.object({ domain: z.string() }),
    fact: z.object({ listed: z.boolean() }),
    fromRequest: () => undefined,
    subject: (input) => input.domain,
    ...(ttlSeconds !== undefined && { ttlSeconds }),
    settings: z.object({}),
    setup: () => ({ run: async () => ({ listed: false }) }),
  });

type Handler = EnrichmentHandler<unknown, unknown>;

const warming = (domains: string[]): Handler => ({
  run: async () => ({ listed: false }),
  *warm() {
    for (const domain of domains) yield { input: { domain }, fact: { listed: true } };
  },
});

describe("warmCache", () => {
  it("writes every warm fact with the enrichment's TTL and returns the count", async () => {
    const keys = newKeys();
    const enrichment: AnyEnrichment = listed(600);
    const domains = ["a.test", "b.test", "c.test"];
    expect(await warmCache(redis, keys, enrichment, warming(domains))).toBe(3);

    for (const domain of domains) {
      const key = factKey(keys, enrichment, { domain });
      expect(key).toBe(`${keys.prefix}:v1:fact:test-list.v2:${domain}`);
      expect(decodeFact((await redis.get(key)) ?? "")?.fact).toEqual({ listed: true });
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(590);
      expect(ttl).toBeLessThanOrEqual(600);
    }
    // The marker lives half the TTL.
    const markerTtl = await redis.ttl(keys.warmMarker("test-list", 2));
    expect(markerTtl).toBeGreaterThan(290);
    expect(markerTtl).toBeLessThanOrEqual(300);
  });

  it("writes nothing again while the marker lives, and again once it is gone", async () => {
    const keys = newKeys();
    const enrichment = listed(600);
    expect(await warmCache(redis, keys, enrichment, warming(["a.test"]))).toBe(1);
    const key = factKey(keys, enrichment, { domain: "a.test" });
    await redis.del(key);

    expect(await warmCache(redis, keys, enrichment, warming(["a.test", "b.test"]))).toBe(0);
    expect(await redis.exists(key, factKey(keys, enrichment, { domain: "b.test" }))).toBe(0);

    await redis.del(keys.warmMarker("test-list", 2)); // as if it had expired
    expect(await warmCache(redis, keys, enrichment, warming(["a.test", "b.test"]))).toBe(2);
    expect(await redis.exists(key)).toBe(1);
  });

  it("returns 0 for a handler without warm, and claims no marker", async () => {
    const keys = newKeys();
    const handler: Handler = { run: async () => ({ listed: false }) };
    expect(await warmCache(redis, keys, listed(600), handler)).toBe(0);
    expect(await redis.keys(`${keys.prefix}:*`)).toEqual([]);
  });

  it("uses the default TTL of one day when the enrichment sets none", async () => {
    const keys = newKeys();
    const enrichment = listed();
    expect(await warmCache(redis, keys, enrichment, warming(["a.test"]))).toBe(1);
    expect(await redis.ttl(factKey(keys, enrichment, { domain: "a.test" }))).toBeGreaterThan(86_300);
    expect(await redis.ttl(keys.warmMarker("test-list", 2))).toBeGreaterThan(43_100);
  });

  it("keeps the marker at least a second for a very short TTL", async () => {
    const keys = newKeys();
    expect(await warmCache(redis, keys, listed(1), warming(["a.test"]))).toBe(1);
    expect(await redis.pttl(keys.warmMarker("test-list", 2))).toBeGreaterThan(500);
  });

  it("releases the marker when warm() fails, so the next worker start warms again", async () => {
    const keys = newKeys();
    const failing: Handler = {
      run: async () => ({ listed: false }),
      *warm() {
        yield { input: { domain: "a.test" }, fact: { listed: true } };
        throw new Error("list unreadable");
      },
    };
    await expect(warmCache(redis, keys, listed(600), failing)).rejects.toThrow("list unreadable");
    expect(await redis.exists(keys.warmMarker("test-list", 2))).toBe(0);
    expect(await warmCache(redis, keys, listed(600), warming(["a.test"]))).toBe(1);
  });
});
