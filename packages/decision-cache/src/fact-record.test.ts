import { describe, expect, it } from "vitest";
import { decodeFact, encodeFact } from "./fact-record.js";

describe("encodeFact", () => {
  it("stores when the fact was found and asks for a refresh after 80% of the TTL", () => {
    const now = 1_700_000_000_000;
    expect(JSON.parse(encodeFact({ disposable: true }, 100, now))).toEqual({
      at: now,
      refreshAt: now + 80_000,
      fact: { disposable: true },
    });
    expect(JSON.parse(encodeFact("x", 86_400, now)).refreshAt).toBe(now + 69_120_000);
    expect(JSON.parse(encodeFact("x", 1, now)).refreshAt).toBe(now + 800);
    // Whole milliseconds: 80% of 3 ms rounds down.
    expect(JSON.parse(encodeFact("x", 0.003, now)).refreshAt).toBe(now + 2);
  });

  it("uses the current time by default", () => {
    const before = Date.now();
    const record = JSON.parse(encodeFact({ a: 1 }, 10));
    const after = Date.now();
    expect(record.at).toBeGreaterThanOrEqual(before);
    expect(record.at).toBeLessThanOrEqual(after);
    expect(record.refreshAt - record.at).toBe(8_000);
  });
});

describe("decodeFact", () => {
  it("round-trips what encodeFact wrote", () => {
    const fact = { domain: "example.com", disposable: false, mx: "present", lists: ["a", "b"] };
    expect(decodeFact(encodeFact(fact, 60, 1_000))).toEqual({ at: 1_000, refreshAt: 49_000, fact });
  });

  it("keeps falsy facts: they are facts, not misses", () => {
    for (const fact of [false, 0, "", null, []]) {
      expect(decodeFact(JSON.stringify({ at: 1, refreshAt: 2, fact }))?.fact).toEqual(fact);
    }
  });

  it.each([
    ["empty", ""],
    ["not JSON", "not json"],
    ["truncated JSON", '{"at":1,"refreshAt":2,"fact":'],
    ["null", "null"],
    ["a number", "42"],
    ["a string", '"fact"'],
    ["an array", "[1,2,3]"],
    ["no fact", '{"at":1,"refreshAt":2}'],
    ["at is a string", '{"at":"1","refreshAt":2,"fact":{}}'],
    ["no refreshAt", '{"at":1,"fact":{}}'],
    ["refreshAt is null", '{"at":1,"refreshAt":null,"fact":{}}'],
  ])("is undefined for %s, never throws", (_, raw) => {
    expect(decodeFact(raw)).toBeUndefined();
  });
});
