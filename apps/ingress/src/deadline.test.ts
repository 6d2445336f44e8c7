import { describe, expect, it, vi } from "vitest";
import { withDeadline } from "./deadline.js";

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("withDeadline", () => {
  it("resolves with the work's value when it is in time, without calling the fallbacks", async () => {
    const onTimeout = vi.fn(() => "timeout");
    const onError = vi.fn(() => "error");
    expect(await withDeadline(later(5, "value"), 1_000, onTimeout, onError)).toBe("value");
    expect(await withDeadline(Promise.resolve("at once"), 0, onTimeout, onError)).toBe("at once");
    expect(onTimeout).not.toHaveBeenCalled();
    expect(onError).not.toHaveBeenCalled();
  });

  it("resolves with onTimeout() at the deadline, and ignores the work's later value", async () => {
    const onError = vi.fn(() => "error");
    const started = performance.now();
    const work = later(120, "too late");
    expect(await withDeadline(work, 20, () => "fallback", onError)).toBe("fallback");
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(15);
    expect(elapsed).toBeLessThan(110);
    await work;
    expect(onError).not.toHaveBeenCalled();
  });

  it("never waits for work that never settles", async () => {
    expect(
      await withDeadline(
        new Promise<string>(() => {}),
        10,
        () => "fallback",
        () => "error",
      ),
    ).toBe("fallback");
  });

  it("resolves with onError(error) when the work rejects, never rejecting itself", async () => {
    const error = new Error("redis down");
    const onError = vi.fn((e: unknown) => `handled ${(e as Error).message}`);
    const onTimeout = vi.fn(() => "timeout");
    await expect(withDeadline(Promise.reject(error), 1_000, onTimeout, onError)).resolves.toBe(
      "handled redis down",
    );
    expect(onError).toHaveBeenCalledWith(error);
    expect(onTimeout).not.toHaveBeenCalled();
  });

  it("treats a negative budget as an immediate deadline", async () => {
    const started = performance.now();
    expect(
      await withDeadline(
        later(200, "late"),
        -50,
        () => "fallback",
        () => "error",
      ),
    ).toBe("fallback");
    expect(performance.now() - started).toBeLessThan(100);
  });
});
