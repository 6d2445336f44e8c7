import { afterEach, describe, expect, it, vi } from "vitest";
import { RecentAnswers } from "./recent-answers.js";

const opened: RecentAnswers[] = [];
afterEach(() => {
  for (const recent of opened.splice(0)) recent.close();
  vi.useRealTimers();
});

function recentAnswers(generationMs?: number): RecentAnswers {
  const recent = new RecentAnswers(generationMs);
  opened.push(recent);
  return recent;
}

describe("RecentAnswers", () => {
  it("returns the answer promise set for an interceptor id, and undefined for others", async () => {
    const recent = recentAnswers();
    const answer = Promise.resolve('{"decision":"ALLOW"}');
    recent.set("ic_1", answer);
    expect(recent.get("ic_1")).toBe(answer);
    expect(await recent.get("ic_1")).toBe('{"decision":"ALLOW"}');
    expect(recent.get("ic_2")).toBeUndefined();
  });

  it("keeps the latest answer for an id set twice", () => {
    const recent = recentAnswers();
    const first = Promise.resolve("first");
    const second = Promise.resolve("second");
    recent.set("ic_1", first);
    recent.set("ic_1", second);
    expect(recent.get("ic_1")).toBe(second);
  });

  it("keeps an entry through one rotation and forgets it after two (fake timers)", () => {
    vi.useFakeTimers();
    const recent = recentAnswers(100);
    const answer = Promise.resolve("A");
    recent.set("ic_1", answer);
    vi.advanceTimersByTime(100); // rotation 1: now in the previous generation
    expect(recent.get("ic_1")).toBe(answer);
    recent.set("ic_2", Promise.resolve("B"));
    vi.advanceTimersByTime(100); // rotation 2: ic_1 is gone, ic_2 is in the previous generation
    expect(recent.get("ic_1")).toBeUndefined();
    expect(recent.get("ic_2")).toBeDefined();
    vi.advanceTimersByTime(100);
    expect(recent.get("ic_2")).toBeUndefined();
  });

  it("rotates on a real clock: an entry survives one generation and is gone after two", async () => {
    const recent = recentAnswers(30);
    recent.set("ic_1", Promise.resolve("A"));
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(recent.get("ic_1")).toBeDefined();
    await vi.waitFor(() => expect(recent.get("ic_1")).toBeUndefined(), { timeout: 500, interval: 5 });
  });

  it("stops rotating once closed", () => {
    vi.useFakeTimers();
    const recent = recentAnswers(100);
    recent.set("ic_1", Promise.resolve("A"));
    recent.close();
    vi.advanceTimersByTime(1_000);
    expect(recent.get("ic_1")).toBeDefined();
  });
});
