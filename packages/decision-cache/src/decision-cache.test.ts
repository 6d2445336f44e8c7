import { randomUUID } from "node:crypto";
import { testRedis } from "@gatehouse/testing";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AfterReplyWriter } from "./after-reply-writer.js";
import { DecisionCache } from "./decision-cache.js";
import { type CacheKeys, cacheKeys } from "./keys.js";
import { counterKeys, slidingCount } from "./velocity-counter.js";

// The ingress' profile: no offline queue.
const redis = testRedis("request-path");

const used: CacheKeys[] = [];
afterEach(async () => {
  for (const keys of used.splice(0)) {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length > 0) await redis.del(...found);
  }
});

function newKeys(): CacheKeys {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  used.push(keys);
  return keys;
}

describe("DecisionCache.read", () => {
  it("claims a new interceptor id and returns the facts in the order asked, null for each miss", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys);
    const [a, b, c, d] = ["a", "b", "c", "d"].map((s) => keys.fact("test", 1, s)) as [
      string,
      string,
      string,
      string,
    ];
    await redis.set(b, "B-value");
    await redis.set(d, "D-value");

    const read = await cache.read("ic_1", [a, b, c, d], []);
    expect(read).toEqual({
      kind: "fresh",
      values: [null, "B-value", null, "D-value"],
      counts: [],
      claimed: true,
    });
    expect(await cache.read("ic_2", [d, b], [])).toEqual({
      kind: "fresh",
      values: ["D-value", "B-value"],
      counts: [],
      claimed: true,
    });
    expect(await cache.read("ic_3", [], [])).toEqual({
      kind: "fresh",
      values: [],
      counts: [],
      claimed: true,
    });
  });

  it("returns a repeat with a null answer while the first request is being answered", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys);
    const fact = keys.fact("test", 1, "x");
    await redis.set(fact, "X");
    expect((await cache.read("ic_rep", [fact], [])).kind).toBe("fresh");
    // The repeat does not read facts: only the (still missing) answer.
    expect(await cache.read("ic_rep", [fact], [])).toEqual({ kind: "repeat", answer: null });
    expect(await redis.get(keys.idempotency("ic_rep"))).toBe("");
    expect(await cache.storedAnswer("ic_rep")).toBeNull();
  });

  it("returns the stored answer once the after-reply writer has flushed it, with the claim's TTL kept", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys, { idempotencyTtlMs: 30_000 });
    const writer = new AfterReplyWriter(redis, keys, { flushMs: 1_000 });
    const json = JSON.stringify({ decision: "DENY", error: { message: "no" } });

    expect((await cache.read("ic_ans", [], [])).kind).toBe("fresh");
    writer.push({ answer: { interceptorId: "ic_ans", json }, audit: { id: "ic_ans" }, test: false });
    expect(await cache.read("ic_ans", [], [])).toEqual({ kind: "repeat", answer: null });
    await writer.flush();

    expect(await cache.read("ic_ans", [], [])).toEqual({ kind: "repeat", answer: json });
    expect(await cache.storedAnswer("ic_ans")).toBe(json);
    const pttl = await redis.pttl(keys.idempotency("ic_ans"));
    expect(pttl).toBeGreaterThan(28_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
    // Another id is unaffected, and an id never seen has no answer.
    expect((await cache.read("ic_other", [], [])).kind).toBe("fresh");
    expect(await cache.storedAnswer("ic_never")).toBeNull();
    await writer.close();
  });

  it("remembers the interceptor id for idempotencyTtlMs", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys, { idempotencyTtlMs: 30_000 });
    expect(cache.idempotencyTtlMs).toBe(30_000);
    await cache.read("ic_ttl", [], []);
    const pttl = await redis.pttl(keys.idempotency("ic_ttl"));
    expect(pttl).toBeGreaterThan(29_000);
    expect(pttl).toBeLessThanOrEqual(30_000);

    const defaults = new DecisionCache(redis, newKeys());
    expect(defaults.idempotencyTtlMs).toBe(600_000);
    await defaults.read("ic_ttl", [], []);
    const defaultPttl = await redis.pttl(defaults.keys.idempotency("ic_ttl"));
    expect(defaultPttl).toBeGreaterThan(599_000);
    expect(defaultPttl).toBeLessThanOrEqual(600_000);
  });

  it("is fresh again once the id has expired", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys, { idempotencyTtlMs: 40 });
    expect((await cache.read("ic_exp", [], [])).kind).toBe("fresh");
    expect((await cache.read("ic_exp", [], [])).kind).toBe("repeat");
    await vi.waitFor(async () => expect((await cache.read("ic_exp", [], [])).kind).toBe("fresh"), {
      timeout: 1_000,
      interval: 10,
    });
  });

  it("shares one script definition between caches on one connection", async () => {
    const keysA = newKeys();
    const keysB = newKeys();
    const first = new DecisionCache(redis, keysA);
    const second = new DecisionCache(redis, keysB);
    expect((await first.read("same", [], [])).kind).toBe("fresh");
    expect((await second.read("same", [], [])).kind).toBe("fresh");
    expect((await first.read("same", [], [])).kind).toBe("repeat");
  });
});

describe("velocity counters in the read", () => {
  it("counts each new interceptor id once, never a repeat, and reads the previous window beside it", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys);
    const now = 1_700_000_070_000; // 30 s into a 60 s window
    const counter = counterKeys(keys, "ip:60", "198.51.100.7", 60, now);
    await redis.set(counter.previous, "10", "PX", 120_000);
    const fact = keys.fact("test", 1, "x");
    await redis.set(fact, "X");

    const first = await cache.read("ic_a", [fact], [counter]);
    expect(first).toEqual({ kind: "fresh", values: ["X"], counts: [[1, 10]], claimed: true });
    expect((await cache.read("ic_b", [], [counter])).kind).toBe("fresh");
    expect(await cache.read("ic_a", [fact], [counter])).toMatchObject({ kind: "repeat" });
    const third = await cache.read("ic_c", [], [counter]);
    expect(third).toEqual({ kind: "fresh", values: [], counts: [[3, 10]], claimed: true });

    // The window's key expires on its own, after two window lengths.
    const ttl = await redis.pttl(counter.current);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(counter.ttlMs);
    // Half the previous window still lies within the last 60 s.
    expect(slidingCount(3, 10, 60, now)).toBe(8);
  });

  it("keeps counters of different subjects and windows apart", async () => {
    const keys = newKeys();
    const cache = new DecisionCache(redis, keys);
    const now = Date.now();
    const a = counterKeys(keys, "ip:60", "198.51.100.7", 60, now);
    const b = counterKeys(keys, "ip:60", "198.51.100.8", 60, now);
    const c = counterKeys(keys, "ip:3600", "198.51.100.7", 3_600, now);
    await cache.read("ic_1", [], [a, b, c]);
    const second = await cache.read("ic_2", [], [a, c]);
    expect(second).toEqual({
      kind: "fresh",
      values: [],
      counts: [
        [2, 0],
        [2, 0],
      ],
      claimed: true,
    });
    expect(await redis.get(b.current)).toBe("1");
  });
});
