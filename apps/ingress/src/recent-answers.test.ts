import { afterEach, describe, expect, it, vi } from "vitest";
import { RecentAnswers } from "./recent-answers.js";

afterEach(() => {
  vi.useRealTimers();
});

const recentAnswers = (generationMs?: number) => new RecentAnswers(generationMs);

describe("RecentAnswers", () => {
  it("returns the answer set for an interceptor id, and undefined for others", () => {
    const recent = recentAnswers();
    recent.set("ic_1", '{"decision":"ALLOW"}');
    expect(recent.get("ic_1")).toBe('{"decision":"ALLOW"}');
    expect(recent.get("ic_2")).toBeUndefined();
  });

  it("keeps the latest answer for an id set twice", () => {
    const recent = recentAnswers();
    recent.set("ic_1", "first");
    recent.set("ic_1", "second");
    expect(recent.get("ic_1")).toBe("second");
  });

  it("keeps an answer through one rotation and forgets it after two (fake timers)", () => {
    vi.useFakeTimers();
    const recent = recentAnswers(100);
    recent.set("ic_1", "A");
    vi.advanceTimersByTime(100); // rotation 1: now in the previous generation
    expect(recent.get("ic_1")).toBe("A");
    recent.set("ic_2", "B");
    vi.advanceTimersByTime(100); // rotation 2: ic_1 is gone, ic_2 is in the previous generation
    expect(recent.get("ic_1")).toBeUndefined();
    expect(recent.get("ic_2")).toBe("B");
    vi.advanceTimersByTime(100);
    expect(recent.get("ic_2")).toBeUndefined();
  });

  it("rotates every 50 ms by default", () => {
    vi.useFakeTimers();
    const recent = recentAnswers();
    recent.set("ic_1", "A");
    vi.advanceTimersByTime(49);
    expect(recent.get("ic_1")).toBe("A");
    recent.set("ic_2", "B");
    vi.advanceTimersByTime(51); // 100 ms since the generation began: both generations' time is up
    expect(recent.get("ic_1")).toBeUndefined();
    expect(recent.get("ic_2")).toBeUndefined();
  });

  it("gives a promise of a pending answer however many rotations it takes, then the answer for two more", async () => {
    vi.useFakeTimers();
    const recent = recentAnswers(100);
    const settle = recent.pending("ic_1");
    const joined = recent.get("ic_1");
    expect(joined).toBeInstanceOf(Promise);
    vi.advanceTimersByTime(1_000); // ten rotations: a request waiting for Redis or for facts
    expect(recent.get("ic_1")).toBe(joined);
    settle('{"decision":"DENY"}');
    expect(await joined).toBe('{"decision":"DENY"}');
    expect(recent.get("ic_1")).toBe('{"decision":"DENY"}');
    vi.advanceTimersByTime(100);
    expect(recent.get("ic_1")).toBe('{"decision":"DENY"}');
    vi.advanceTimersByTime(100);
    expect(recent.get("ic_1")).toBeUndefined();
  });

  it("rotates on a real clock: an answer survives one generation and is gone after two", async () => {
    const recent = recentAnswers(30);
    recent.set("ic_1", "A");
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(recent.get("ic_1")).toBeDefined();
    await vi.waitFor(() => expect(recent.get("ic_1")).toBeUndefined(), { timeout: 500, interval: 5 });
  });

  it("sets no timer: an idle process is not woken for it", () => {
    vi.useFakeTimers();
    const recent = recentAnswers(100);
    recent.set("ic_1", "A");
    recent.get("ic_1");
    expect(vi.getTimerCount()).toBe(0);
  });
});
