import { randomUUID } from "node:crypto";
import { createRedis } from "@gatehouse/redis";
import { cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { FactAnnouncements } from "./fact-announcements.js";
import { decodeFact } from "./fact-record.js";
import { writeFact, writeFacts } from "./fact-writer.js";
import { type CacheKeys, cacheKeys } from "./keys.js";

const redisUrl = inject("redisUrl");
const redis = testRedis();
afterEach(() => {
  vi.restoreAllMocks();
});
const cleanups = cleanupsAfterEach();

function newKeys(): CacheKeys {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  cleanups.push(async () => {
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", `${keys.prefix}:*`, "COUNT", 1000);
      if (found.length > 0) await redis.unlink(...found);
      cursor = next;
    } while (cursor !== "0");
  });
  return keys;
}

describe("writeFact", () => {
  it("stores the encoded fact with an EX TTL and announces it to a subscriber on another connection", async () => {
    const keys = newKeys();
    const subscriber = createRedis({ url: redisUrl }, "subscriber");
    const announcements = new FactAnnouncements(subscriber, keys);
    cleanups.push(async () => {
      announcements.close();
      await subscriber.quit();
    });
    await announcements.start();

    const key = keys.fact("email-domain", 1, "example.com");
    const fact = { domain: "example.com", disposable: false };
    const waiting = announcements.wait([key], 2_000);
    const before = Date.now();
    await writeFact(redis, keys, key, fact, 120);

    const stored = await redis.get(key);
    expect(stored).not.toBeNull();
    const record = decodeFact(stored!);
    expect(record?.fact).toEqual(fact);
    expect(record?.at).toBeGreaterThanOrEqual(before);
    // Between 9/10 of the TTL and all of it; refreshed at 80% of the life it was given.
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThanOrEqual(107);
    expect(ttl).toBeLessThanOrEqual(120);
    const given = (record!.refreshAt - record!.at) / 800;
    expect(Number.isInteger(given)).toBe(true);
    expect(given).toBeGreaterThanOrEqual(108);
    expect(given).toBeLessThanOrEqual(120);
    expect(ttl).toBeLessThanOrEqual(given);

    const announced = await waiting;
    expect([...announced]).toEqual([[key, stored]]);
  });

  it("spreads the lives of facts written together over the last tenth of the TTL", async () => {
    const keys = newKeys();
    const written = Array.from({ length: 40 }, (_, i) => keys.fact("email-domain", 1, `spread-${i}.test`));
    await Promise.all(written.map((key) => writeFact(redis, keys, key, { ok: true }, 1_000)));
    const ttls = await Promise.all(written.map((key) => redis.ttl(key)));
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(899);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(1_000);
    expect(new Set(ttls).size).toBeGreaterThan(10);
  });

  it("overwrites an older fact and resets its TTL", async () => {
    const keys = newKeys();
    const key = keys.fact("ip-reputation", 1, "203.0.113.9");
    await writeFact(redis, keys, key, { listed: false }, 5);
    await writeFact(redis, keys, key, { listed: true }, 3_600);
    expect(decodeFact((await redis.get(key)) ?? "")?.fact).toEqual({ listed: true });
    expect(await redis.ttl(key)).toBeGreaterThanOrEqual(3_239); // 9/10 of 3,600 at least
  });
});

describe("writeFacts", () => {
  it("writes 2,500 facts in chunks of 1,000, each with its TTL, and returns the count", async () => {
    const keys = newKeys();
    const pipelines = vi.spyOn(redis, "pipeline");
    const entries = function* () {
      for (let i = 0; i < 2_500; i++) yield { key: keys.fact("bulk", 1, `d${i}.test`), fact: { i } };
    };
    expect(await writeFacts(redis, entries(), 600)).toBe(2_500);
    // One pipeline per chunk: 1,000 + 1,000 + 500.
    expect(pipelines).toHaveBeenCalledTimes(3);
    pipelines.mockRestore();

    const all = [...entries()].map((entry) => entry.key);
    const check = redis.pipeline();
    for (const key of all) check.pttl(key);
    const ttls = ((await check.exec()) ?? []).map(([, value]) => value as number);
    expect(ttls).toHaveLength(2_500);
    expect(ttls.filter((ttl) => ttl > 590_000 && ttl <= 600_000)).toHaveLength(2_500);

    const [first, last] = await redis.mget(all[0]!, all[2_499]!);
    const a = decodeFact(first!);
    const b = decodeFact(last!);
    expect(a?.fact).toEqual({ i: 0 });
    expect(b?.fact).toEqual({ i: 2_499 });
    // One timestamp for the whole warm.
    expect(a?.at).toBe(b?.at);
    expect(a!.refreshAt - a!.at).toBe(480_000);
  });

  it("honours a custom chunk size and an exact multiple of it", async () => {
    const keys = newKeys();
    const pipelines = vi.spyOn(redis, "pipeline");
    const entries = Array.from({ length: 6 }, (_, i) => ({ key: keys.fact("bulk", 1, `s${i}`), fact: i }));
    expect(await writeFacts(redis, entries, 60, 3)).toBe(6);
    expect(pipelines).toHaveBeenCalledTimes(2); // two full chunks; nothing is sent for the empty rest
    expect(await redis.exists(...entries.map((e) => e.key))).toBe(6);
  });

  it("writes nothing and returns 0 for no entries", async () => {
    const keys = newKeys();
    expect(await writeFacts(redis, [], 60)).toBe(0);
    expect(await redis.keys(`${keys.prefix}:*`)).toEqual([]);
  });
});
