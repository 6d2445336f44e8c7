import { describe, expect, it } from "vitest";
import { EnrichmentError, EnrichmentTimeoutError } from "./errors/enrichment-error.js";
import { runWithTimeout } from "./run-with-timeout.js";

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
const abortable = (ms: number, signal: AbortSignal) =>
  new Promise<string>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => resolve("late"), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

describe("runWithTimeout", () => {
  it("resolves with the function's value and leaves its signal alone", async () => {
    let seen: AbortSignal | undefined;
    const value = await runWithTimeout("enrich.t.v1", 1_000, undefined, async (signal) => {
      seen = signal;
      return { ok: true };
    });
    expect(value).toEqual({ ok: true });
    expect(seen?.aborted).toBe(false);
  });

  it("rejects with the function's own error", async () => {
    const error = new Error("provider down");
    await expect(
      runWithTimeout("enrich.t.v1", 1_000, undefined, async () => Promise.reject(error)),
    ).rejects.toBe(error);
  });

  it("rejects with EnrichmentTimeoutError after the timeout and aborts the signal with it", async () => {
    let seen: AbortSignal | undefined;
    const started = performance.now();
    const error: unknown = await runWithTimeout("enrich.t.v1", 60, undefined, (signal) => {
      seen = signal;
      return new Promise<never>(() => {}); // deaf to the signal: the timeout still wins
    }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(55);
    expect(elapsed).toBeLessThan(500);
    expect(error).toBeInstanceOf(EnrichmentTimeoutError);
    expect(error).toBeInstanceOf(EnrichmentError);
    expect(error).toMatchObject({
      code: "enrichment.timeout",
      retryable: true,
      message: "enrich.t.v1 did not finish within 60 ms",
      context: { enrichment: "enrich.t.v1", timeoutMs: 60 },
    });
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
  });

  it("rejects with the timeout error even when the function rejects on abort", async () => {
    await expect(
      runWithTimeout("enrich.t.v1", 30, undefined, (signal) => abortable(5_000, signal)),
    ).rejects.toBeInstanceOf(EnrichmentTimeoutError);
  });

  it("propagates the parent's abort, with its reason, before the timeout", async () => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    const started = performance.now();
    const running = runWithTimeout("enrich.t.v1", 5_000, parent.signal, (signal) => {
      seen = signal;
      return abortable(5_000, signal);
    });
    setTimeout(() => parent.abort("worker closing"), 20);
    await expect(running).rejects.toBe("worker closing");
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe("worker closing");
  });

  it("stops listening to the parent once done", async () => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    await runWithTimeout("enrich.t.v1", 1_000, parent.signal, async (signal) => {
      seen = signal;
      return 1;
    });
    parent.abort("after the fact");
    expect(seen?.aborted).toBe(false);
  });

  it("starts aborted when the parent already is", async () => {
    const parent = new AbortController();
    parent.abort("already closing");
    let seen: AbortSignal | undefined;
    const running = runWithTimeout("enrich.t.v1", 2_000, parent.signal, (signal) => {
      seen = signal;
      return abortable(2_000, signal);
    });
    const started = performance.now();
    expect(seen?.aborted).toBe(true);
    await expect(running).rejects.toBe("already closing");
    expect(performance.now() - started).toBeLessThan(500);
  });
});
