import { randomUUID } from "node:crypto";
import { createRedis, type Redis, sendBatch } from "@gatehouse/redis";
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { encodeFact } from "./fact-record.js";
import { LocalFacts, type LocalFactsOptions } from "./local-facts.js";

const NOW = 1_700_000_000_000;
const live = (options: LocalFactsOptions) => {
  const local = new LocalFacts(options);
  local.resume();
  return local;
};

describe("LocalFacts", () => {
  it("serves a kept copy, decoded, for 3/4 of maxAgeMs at least and never past it", () => {
    const local = live({ maxAgeMs: 1_000 });
    const kept = local.put("k", encodeFact({ disposable: true }, 60, NOW), NOW);
    expect(kept?.fact).toEqual({ disposable: true });
    expect(local.get("k", NOW + 749)?.fact).toEqual({ disposable: true });
    expect(local.get("k", NOW + 1_000)).toBeUndefined();
    expect(local.size).toBe(0); // an expired copy is dropped when found
  });

  it("spreads the copies' ends over the last quarter of maxAgeMs", () => {
    const local = live({ maxAgeMs: 1_000 });
    for (let i = 0; i < 200; i++) local.put(`k${i}`, encodeFact(i, 60, NOW), NOW);
    const alive = (at: number) =>
      Array.from({ length: 200 }, (_, i) => local.get(`k${i}`, at)).filter(Boolean);
    expect(alive(NOW + 749)).toHaveLength(200);
    const atSeveneighths = alive(NOW + 875).length;
    expect(atSeveneighths).toBeGreaterThan(20);
    expect(atSeveneighths).toBeLessThan(180);
    expect(alive(NOW + 1_000)).toHaveLength(0);
  });

  it("never serves a copy past the fact's own expiry in Redis", () => {
    const local = live({ maxAgeMs: 3_600_000 });
    local.put("k", encodeFact("x", 10, NOW), NOW + 5_000); // written 5 s ago with a 10 s TTL
    expect(local.get("k", NOW + 9_999)?.fact).toBe("x");
    expect(local.get("k", NOW + 10_000)).toBeUndefined();
    // Already expired when it arrives: not kept, but still returned to the reader.
    expect(local.put("old", encodeFact("y", 1, NOW), NOW + 2_000)?.fact).toBe("y");
    expect(local.get("old", NOW + 2_000)).toBeUndefined();
  });

  it("keeps the newer of two records: a read that left Redis before a write can arrive after its announcement", () => {
    const local = live({ maxAgeMs: 60_000 });
    local.put("k", encodeFact("new", 60, NOW + 10), NOW + 20);
    expect(local.put("k", encodeFact("old", 60, NOW), NOW + 30)?.fact).toBe("new");
    expect(local.get("k", NOW + 40)?.fact).toBe("new");
    local.put("k", encodeFact("newer", 60, NOW + 50), NOW + 60);
    expect(local.get("k", NOW + 70)?.fact).toBe("newer");
  });

  it("extends the copy it holds when the same record comes again, and replaces it when a newer one does", () => {
    const local = live({ maxAgeMs: 1_000 });
    const first = local.put("k", encodeFact({ mx: true }, 60, NOW), NOW);
    const again = local.put("k", encodeFact({ mx: true }, 60, NOW), NOW + 900);
    expect(again).toBe(first);
    expect(local.get("k", NOW + 1_500)).toBe(first); // past the first copy's end: the second put extended it
    const newer = local.put("k", encodeFact({ mx: false }, 60, NOW + 1), NOW + 1_600);
    expect(newer).not.toBe(first);
    expect(local.get("k", NOW + 1_700)?.fact).toEqual({ mx: false });
    // Another write in the same millisecond is another record.
    local.put("k", encodeFact({ mx: "other" }, 60, NOW + 1), NOW + 1_800);
    expect(local.get("k", NOW + 1_900)?.fact).toEqual({ mx: "other" });
  });

  it("returns undefined for bytes that are not a fact record, and keeps nothing", () => {
    const local = live({ maxAgeMs: 60_000 });
    expect(local.put("k", "not json", NOW)).toBeUndefined();
    expect(local.put("k", JSON.stringify({ at: NOW }), NOW)).toBeUndefined();
    expect(local.size).toBe(0);
  });

  it("drops the oldest copies beyond maxEntries", () => {
    const local = live({ maxAgeMs: 60_000, maxEntries: 3 });
    for (const key of ["a", "b", "c", "d"]) local.put(key, encodeFact(key, 60, NOW), NOW);
    expect(local.size).toBe(3);
    expect(local.get("a", NOW)).toBeUndefined();
    expect(local.get("d", NOW)?.fact).toBe("d");
    // A replaced copy counts as new.
    local.put("b", encodeFact("b2", 60, NOW + 1), NOW + 1);
    local.put("e", encodeFact("e", 60, NOW), NOW + 1);
    expect(local.get("c", NOW + 1)).toBeUndefined();
    expect(local.get("b", NOW + 1)?.fact).toBe("b2");
  });

  it("lets ended copies go as new ones are kept: memory follows the subjects of the last maxAgeMs", () => {
    const local = live({ maxAgeMs: 1_000 });
    // One-off subjects (asked for once, or announced and never asked for): one a millisecond for 10 s.
    for (let t = 0; t < 10_000; t++) local.put(`once-${t}`, encodeFact(t, 60, NOW + t), NOW + t);
    // Only copies kept in the last second can still be held; none of the first 9 s.
    expect(local.size).toBeLessThanOrEqual(1_001);
    expect(local.size).toBeGreaterThanOrEqual(750);
    local.put("last", encodeFact("x", 60, NOW + 20_000), NOW + 20_000);
    expect(local.size).toBe(1);
    expect(local.get("last", NOW + 20_000)?.fact).toBe("x");
  });

  it("keeps and serves nothing until resumed, and forgets everything when suspended", () => {
    const local = new LocalFacts({ maxAgeMs: 60_000 });
    expect(local.put("k", encodeFact("x", 60, NOW), NOW)?.fact).toBe("x"); // decoded for the reader all the same
    expect(local.get("k", NOW)).toBeUndefined();
    local.resume();
    local.put("k", encodeFact("x", 60, NOW), NOW);
    expect(local.get("k", NOW)?.fact).toBe("x");
    local.suspend();
    expect(local.size).toBe(0);
    expect(local.get("k", NOW)).toBeUndefined();
  });
});

describe("LocalFacts reading copies in use again", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis({ url: inject("redisUrl") }, "bullmq");
  });
  afterAll(async () => {
    await redis.quit();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** A LocalFacts whose copies live exactly maxAgeMs (no spread), reading again from the test Redis. */
  function withReread(maxAgeMs: number, client: Redis = redis) {
    vi.spyOn(Math, "random").mockReturnValue(1);
    const reads: string[][] = [];
    const errors: unknown[] = [];
    const local = live({
      maxAgeMs,
      reread: (keys) => {
        reads.push([...keys]);
        return sendBatch(
          client,
          keys.map((key) => ["GET", key]),
        ) as Promise<(string | null)[]>;
      },
      onRereadError: (error) => errors.push(error),
    });
    return { local, reads, errors };
  }
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

  it("reads a copy asked for in the last quarter of its life again, once, and keeps what Redis holds", async () => {
    const key = `t${randomUUID()}:fact`;
    const now = Date.now();
    const { local, reads } = withReread(1_000);
    local.put(key, encodeFact("v1", 60, now), now);
    // A worker wrote a newer record whose announcement this process missed.
    await redis.set(key, encodeFact("v2", 60, now + 1), "EX", 60);
    expect(local.get(key, now + 700)?.fact).toBe("v1"); // before the last quarter: nothing read
    await nextTurn();
    expect(reads).toEqual([]);
    expect(local.get(key, now + 800)?.fact).toBe("v1"); // served from memory, and read again behind it
    expect(local.get(key, now + 801)?.fact).toBe("v1");
    await vi.waitFor(() => expect(local.get(key)?.fact).toBe("v2"), { timeout: 1_000, interval: 5 });
    expect(reads).toEqual([[key]]);
    // The copy now lives a full maxAgeMs from the read.
    expect(local.get(key, Date.now() + 900)?.fact).toBe("v2");
    await redis.del(key);
  });

  it("never reads again a copy whose fact expires first, and drops a copy whose fact is gone from Redis", async () => {
    const expiring = `t${randomUUID()}:fact`;
    const gone = `t${randomUUID()}:fact`;
    const now = Date.now();
    const { local, reads } = withReread(10_000);
    local.put(expiring, encodeFact("short", 5, now), now); // 5 s TTL: the copy ends with the fact
    local.put(gone, encodeFact("deleted", 60, now), now); // in memory only: not in Redis
    expect(local.get(expiring, now + 4_900)?.fact).toBe("short");
    expect(local.get(gone, now + 8_000)?.fact).toBe("deleted");
    await vi.waitFor(() => expect(local.get(gone)).toBeUndefined(), { timeout: 1_000, interval: 5 });
    expect(reads).toEqual([[gone]]);
    expect(local.size).toBe(1);
  });

  it("reads nothing once suspended (the subscriber gone, or the ingress closing)", async () => {
    const key = `t${randomUUID()}:fact`;
    const now = Date.now();
    const { local, reads } = withReread(1_000);
    local.put(key, encodeFact("v1", 60, now), now);
    expect(local.get(key, now + 800)?.fact).toBe("v1"); // a read is due at the next turn…
    local.suspend(); // …but every copy is forgotten first
    await nextTurn();
    expect(reads).toEqual([]);
  });

  it("serves a copy whose read failed until it expires, without reading it again", async () => {
    const unreachable = createRedis({ url: "redis://127.0.0.1:1" }, "request-path");
    unreachable.on("error", () => {});
    try {
      const key = `t${randomUUID()}:fact`;
      const now = Date.now();
      const { local, reads, errors } = withReread(1_000, unreachable);
      local.put(key, encodeFact("v1", 60, now), now);
      expect(local.get(key, now + 800)?.fact).toBe("v1");
      await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 2_000, interval: 5 });
      expect(local.get(key, now + 999)?.fact).toBe("v1");
      await nextTurn();
      expect(reads).toHaveLength(1);
      expect(local.get(key, now + 1_000)).toBeUndefined();
    } finally {
      unreachable.disconnect();
    }
  });
});
