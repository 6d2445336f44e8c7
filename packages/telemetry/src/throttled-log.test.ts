import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "./logger.js";
import { lineAt, throttledLog, throttledLogPerKey } from "./throttled-log.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("throttledLog", () => {
  it("writes the first line, then one per interval saying how many it left out", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const lines: [Record<string, unknown>, string][] = [];
    const warn = throttledLog((fields, message) => lines.push([fields, message]), 1_000);
    warn({ id: 1 }, "read failed");
    for (let id = 2; id <= 11; id++) warn({ id }, "read failed");
    expect(lines).toEqual([[{ id: 1 }, "read failed"]]);
    vi.setSystemTime(Date.now() + 1_001);
    warn({ id: 12 }, "read failed");
    expect(lines[1]).toEqual([{ id: 12, suppressed: 10 }, "read failed"]);
    vi.setSystemTime(Date.now() + 1_001);
    warn({ id: 13 }, "read failed");
    expect(lines[2]).toEqual([{ id: 13 }, "read failed"]);
  });
});

describe("throttledLogPerKey", () => {
  it("throttles each key on its own: a flood of one never hides the first line of another", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const lines: [Record<string, unknown>, string][] = [];
    const warn = throttledLogPerKey((fields, message) => lines.push([fields, message]), 1_000);
    for (let id = 1; id <= 5; id++) warn("signature.too_old")({ id }, "denied");
    warn("body.invalid")({ id: 6 }, "denied");
    warn("signature.too_old")({ id: 7 }, "denied");
    expect(lines).toEqual([
      [{ id: 1 }, "denied"],
      [{ id: 6 }, "denied"],
    ]);
    vi.setSystemTime(Date.now() + 1_001);
    warn("signature.too_old")({ id: 8 }, "denied");
    warn("body.invalid")({ id: 9 }, "denied");
    expect(lines.slice(2)).toEqual([
      [{ id: 8, suppressed: 5 }, "denied"],
      [{ id: 9 }, "denied"],
    ]);
  });
});

describe("lineAt", () => {
  it("writes through the logger's method for the level, fields and message as given", () => {
    const lines: string[] = [];
    const log = createLogger({
      name: "t",
      level: "info",
      destination: { write: (line: string) => lines.push(line) },
    });
    lineAt(log, "warn")({ reason: "r" }, "one");
    lineAt(log, "info")({}, "two");
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      { level: 40, reason: "r", msg: "one" },
      { level: 30, msg: "two" },
    ]);
  });
});
