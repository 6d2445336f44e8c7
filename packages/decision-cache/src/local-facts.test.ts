import { describe, expect, it } from "vitest";
import { encodeFact } from "./fact-record.js";
import { LocalFacts } from "./local-facts.js";

const NOW = 1_700_000_000_000;
const live = (options: { maxAgeMs: number; maxEntries?: number }) => {
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
