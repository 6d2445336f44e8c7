import { EventEmitter } from "node:events";
import type autocannon from "autocannon";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { smoothPacer } from "./pacing.js";

/** autocannon's Client as the pacer sees it: `_doRequest` sends, "response" reports an answer. */
function fakeClient() {
  const client = Object.assign(new EventEmitter(), { destroyed: false, sentAt: [] as number[] });
  const original = () => client.sentAt.push(performance.now());
  Object.assign(client, { _doRequest: original });
  return client as typeof client & { _doRequest(): void };
}

describe("smoothPacer", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "performance"] });
    vi.spyOn(Math, "random").mockReturnValue(0);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  // 100 requests/s over one connection: one due every 10 ms, the first at once.
  function paced() {
    const latencies: number[] = [];
    const late: number[] = [];
    const pacer = smoothPacer(
      100,
      1,
      (ms) => latencies.push(ms),
      (ms) => late.push(ms),
    );
    const client = fakeClient();
    pacer.setupClient(client as unknown as autocannon.Client);
    // What autocannon does: a request when the connection opens, the next as soon as an answer is in.
    const answer = (afterMs: number) => {
      vi.advanceTimersByTime(afterMs);
      client.emit("response", 200);
      client._doRequest();
    };
    client._doRequest();
    return { client, latencies, late, answer };
  }

  it("sends on schedule and measures an answer on a free connection from its send", () => {
    const { client, latencies, late, answer } = paced();
    answer(3); // answered at 3; the next is due at 10
    expect(client.sentAt).toEqual([0]);
    vi.advanceTimersByTime(7);
    expect(client.sentAt).toEqual([0, 10]);
    answer(4);
    expect(latencies).toEqual([3, 4]);
    expect(late).toEqual([0, 0]);
  });

  it("reports the generator's own lateness apart, not in the latency", () => {
    const { client, latencies, late, answer } = paced();
    // The timer for the request due at 10 fires at 12: the load generator was busy.
    const timers: (() => void)[] = [];
    vi.spyOn(globalThis, "setTimeout").mockImplementation(((fire: () => void) => {
      timers.push(fire);
    }) as unknown as typeof setTimeout);
    answer(3);
    vi.advanceTimersByTime(9);
    for (const fire of timers) fire();
    expect(client.sentAt).toEqual([0, 12]);
    answer(3);
    expect(latencies).toEqual([3, 3]);
    expect(late).toEqual([0, 2]);
  });

  it("measures from the due time a request whose connection was still held by a slow answer", () => {
    const { client, latencies, late, answer } = paced();
    answer(25); // the connection held until 25: the second request, due at 10, goes at once
    expect(client.sentAt).toEqual([0, 25]);
    answer(2); // answered at 27, due at 10: 17 ms, the 15 it waited included (coordinated omission)
    expect(latencies).toEqual([25, 17]);
    // Only the first went on a free connection.
    expect(late).toEqual([0]);
  });
});
