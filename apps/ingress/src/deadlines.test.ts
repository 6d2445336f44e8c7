import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Deadlines } from "./deadlines.js";

/** Holds the event loop, as a flood of requests does: no timer can fire meanwhile. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("Deadlines", () => {
  let deadlines: Deadlines | undefined;
  afterEach(() => deadlines?.close());

  it("fires a guard once at its time, by its timer, and never a cancelled one", async () => {
    deadlines = new Deadlines(() => {});
    const fired: string[] = [];
    const start = performance.now();
    let firedAt = 0;
    deadlines.add(start + 30, () => {
      fired.push("due");
      firedAt = performance.now() - start;
    });
    deadlines.add(start + 10, () => fired.push("cancelled")).cancel();
    await sleep(10);
    expect(fired).toEqual([]);
    await vi.waitFor(() => expect(fired).toEqual(["due"]), { timeout: 1_000, interval: 5 });
    expect(firedAt).toBeGreaterThanOrEqual(29);
    await sleep(40);
    expect(fired).toEqual(["due"]);
    expect(deadlines.size).toBe(0);
  });

  it("fires what is due from fireDue(), synchronously, while the event loop is held", () => {
    deadlines = new Deadlines(() => {});
    const fired: number[] = [];
    const start = performance.now();
    deadlines.add(start + 10, () => fired.push(10));
    deadlines.add(start + 5, () => fired.push(5));
    deadlines.add(start + 1_000, () => fired.push(1_000));
    deadlines.fireDue();
    expect(fired).toEqual([]);
    busy(15);
    // No timer has had a chance to run: only the call fires them, soonest first.
    expect(fired).toEqual([]);
    deadlines.fireDue();
    expect(fired).toEqual([5, 10]);
    expect(deadlines.size).toBe(1);
  });

  it("fires guards in the order they are due, whatever the order they were added in", () => {
    deadlines = new Deadlines(() => {});
    const fired: number[] = [];
    const dues = Array.from({ length: 500 }, () => Math.floor(Math.random() * 10_000));
    for (const due of dues) deadlines.add(due, () => fired.push(due));
    for (const due of dues.slice(0, 100)) deadlines.add(due + 0.5, () => fired.push(-1)).cancel();
    deadlines.fireDue(5_000);
    deadlines.fireDue(20_000);
    expect(fired).toEqual([...dues].sort((a, b) => a - b));
    expect(deadlines.size).toBe(0);
  });

  it("fires each guard once, in order and without recursion, when guards' callbacks call fireDue()", () => {
    deadlines = new Deadlines(() => {});
    const fired: number[] = [];
    let depth = 0;
    let deepest = 0;
    // A guard's answer calls fireDue() like any other answer does; 20,000 guards due at once would nest
    // 20,000 deep, past the stack's size, if each call fired the next.
    for (let due = 0; due < 20_000; due++)
      deadlines.add(due, () => {
        depth++;
        deepest = Math.max(deepest, depth);
        fired.push(due);
        (deadlines as Deadlines).fireDue(30_000);
        depth--;
      });
    deadlines.fireDue(30_000);
    expect(fired).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(deepest).toBe(1);
    expect(deadlines.size).toBe(0);
    // Not stuck: a later guard fires as before.
    deadlines.add(40_000, () => fired.push(-1));
    deadlines.fireDue(40_000);
    expect(fired.at(-1)).toBe(-1);
  });

  it("fires guards early by the lead as it is when they are looked at, not as it was when they were added", async () => {
    let lead = 0;
    deadlines = new Deadlines(
      () => {},
      () => lead,
    );
    const fired: number[] = [];
    deadlines.add(1_000, () => fired.push(1_000));
    deadlines.add(1_100, () => fired.push(1_100));
    deadlines.fireDue(950);
    expect(fired).toEqual([]);
    // The loop has been running 60 ms late since: what falls due within 60 ms goes now.
    lead = 60;
    deadlines.fireDue(950);
    expect(fired).toEqual([1_000]);
    deadlines.fireDue(1_039);
    expect(fired).toEqual([1_000]);
    deadlines.fireDue(1_040);
    expect(fired).toEqual([1_000, 1_100]);

    // The timer too: a guard due in 80 ms, with a lead of 60, fires after ~20.
    const start = performance.now();
    let firedAfter = 0;
    deadlines.add(start + 80, () => {
      firedAfter = performance.now() - start;
    });
    await vi.waitFor(() => expect(firedAfter).toBeGreaterThan(0), { timeout: 1_000, interval: 2 });
    expect(firedAfter).toBeGreaterThanOrEqual(19);
    expect(firedAfter).toBeLessThan(60);
  });

  it("hands a guard's error to onError and fires the others", () => {
    const errors: unknown[] = [];
    deadlines = new Deadlines((error) => errors.push(error));
    const fired: string[] = [];
    deadlines.add(1, () => {
      throw new Error("reply failed");
    });
    deadlines.add(2, () => fired.push("next"));
    deadlines.fireDue(10);
    expect(fired).toEqual(["next"]);
    expect(errors).toEqual([new Error("reply failed")]);
  });

  it("re-arms its timer for an earlier guard added later", async () => {
    deadlines = new Deadlines(() => {});
    const fired: string[] = [];
    const start = performance.now();
    deadlines.add(start + 5_000, () => fired.push("late"));
    deadlines.add(start + 20, () => fired.push("early"));
    await vi.waitFor(() => expect(fired).toEqual(["early"]), { timeout: 1_000, interval: 5 });
  });
});
