import { describe, expect, it } from "vitest";
import { retryAfterMs } from "./retry-after.js";

describe("retryAfterMs", () => {
  const now = Date.parse("2026-12-08T03:00:00Z");

  it("reads delay-seconds and HTTP dates", () => {
    expect(retryAfterMs("3", now)).toBe(3_000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Tue, 08 Dec 2026 03:00:30 GMT", now)).toBe(30_000);
  });

  it("falls back when absent, unreadable, negative or past", () => {
    expect(retryAfterMs(null, now)).toBe(1_000);
    expect(retryAfterMs(undefined, now, 250)).toBe(250);
    expect(retryAfterMs("soon", now)).toBe(1_000);
    expect(retryAfterMs("-5", now)).toBe(1_000);
    expect(retryAfterMs("1.5", now)).toBe(1_000);
    expect(retryAfterMs("Tue, 08 Dec 2026 02:59:00 GMT", now)).toBe(1_000);
  });
});
