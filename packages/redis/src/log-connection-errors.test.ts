import { afterEach, describe, expect, it, vi } from "vitest";
import { createRedis } from "./create-redis.js";
import { logConnectionErrors } from "./log-connection-errors.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("logConnectionErrors", () => {
  it("logs one line per interval for all the clients together, counting what it left out", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    // Two clients of a Redis that is not there; their own reconnection errors are part of what is throttled.
    const clients = [1, 2].map(() => createRedis({ url: "redis://127.0.0.1:1" }, "request-path"));
    const lines: Record<string, unknown>[] = [];
    logConnectionErrors(clients, { warn: (fields) => lines.push(fields) }, { everyMs: 1_000 });
    try {
      for (const client of clients) client.emit("error", new Error("connect ECONNREFUSED"));
      const before = lines.length;
      expect(before).toBe(1);
      for (let i = 0; i < 10; i++) clients[i % 2]?.emit("error", new Error("connect ECONNREFUSED"));
      expect(lines.length).toBe(before);
      vi.setSystemTime(Date.now() + 1_001);
      clients[0]?.emit("error", new Error("connect ECONNREFUSED"));
      expect(lines.length).toBe(2);
      expect(lines[1]).toMatchObject({ err: "connect ECONNREFUSED", suppressed: expect.any(Number) });
      expect(lines[1]?.suppressed).toBeGreaterThanOrEqual(11);
    } finally {
      for (const client of clients) client.disconnect();
    }
  });
});
