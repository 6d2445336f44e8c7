import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { EventLoopLag } from "./event-loop-lag.js";

const block = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
};

describe("EventLoopLag", () => {
  it("is about zero on an idle loop, follows a blocked loop at once, and forgets it after a window", async () => {
    const lag = new EventLoopLag(250, 20, 200);
    try {
      // Generous bounds: other test files share the machine's two cores.
      await sleep(120);
      expect(lag.marginMs).toBeLessThan(50);
      block(150);
      await sleep(30);
      expect(lag.marginMs).toBeGreaterThanOrEqual(100);
      // Two windows of 200 ms later, the spike is gone.
      await sleep(600);
      expect(lag.marginMs).toBeLessThan(50);
      block(400);
      await sleep(30);
      expect(lag.marginMs).toBe(250);
    } finally {
      lag.close();
    }
  });
});
