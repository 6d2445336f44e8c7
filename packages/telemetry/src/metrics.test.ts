import { Counter } from "prom-client";
import { describe, expect, it, vi } from "vitest";
import { createRegistry, labelledCounter, latencyHistogram, Registry } from "./metrics.js";

/** The value of one series in the Prometheus text output, or undefined when it is not there. */
async function series(registry: Registry, name: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe("labelledCounter", () => {
  it("increments the series of the given label set only", async () => {
    const registry = new Registry();
    const decisions = labelledCounter(registry, "t_decisions_total", "Decisions.", ["trigger", "decision"]);
    decisions({ trigger: "PRE_SIGNUP", decision: "DENY" });
    decisions({ trigger: "PRE_SIGNUP", decision: "DENY" });
    decisions({ trigger: "PRE_SIGNUP", decision: "ALLOW" });
    decisions({ trigger: "PRE_SESSION_CREATION", decision: "ALLOW" }, 5);

    expect(await series(registry, 't_decisions_total{trigger="PRE_SIGNUP",decision="DENY"}')).toBe(2);
    expect(await series(registry, 't_decisions_total{trigger="PRE_SIGNUP",decision="ALLOW"}')).toBe(1);
    expect(await series(registry, 't_decisions_total{trigger="PRE_SESSION_CREATION",decision="ALLOW"}')).toBe(
      5,
    );
    expect(await series(registry, 't_decisions_total{trigger="PRE_SESSION_CREATION",decision="DENY"}')).toBe(
      undefined,
    );
    expect(await registry.metrics()).toContain("# HELP t_decisions_total Decisions.");
    expect(await registry.metrics()).toContain("# TYPE t_decisions_total counter");
  });

  it("keeps label sets whose joined values would collide apart", async () => {
    const registry = new Registry();
    const count = labelledCounter(registry, "t_pairs_total", "Pairs.", ["a", "b"]);
    count({ a: "x,y", b: "z" });
    count({ a: "x", b: "y,z" });
    expect(await series(registry, 't_pairs_total{a="x,y",b="z"}')).toBe(1);
    expect(await series(registry, 't_pairs_total{a="x",b="y,z"}')).toBe(1);
  });

  it("works without labels, and the label order of the values object does not matter", async () => {
    const registry = new Registry();
    const plain = labelledCounter(registry, "t_plain_total", "Plain.", []);
    plain({});
    plain({}, 2);
    expect(await series(registry, "t_plain_total")).toBe(3);

    const ordered = labelledCounter(registry, "t_ordered_total", "Ordered.", ["x", "y"]);
    ordered({ x: "1", y: "2" });
    ordered({ y: "2", x: "1" });
    expect(await series(registry, 't_ordered_total{x="1",y="2"}')).toBe(2);
  });

  it("counts without prom-client on the request path: its series are filled when the metrics are collected", async () => {
    const registry = new Registry();
    // What prom-client's `inc` is (not in its types).
    const prototype = Counter.prototype as unknown as { incWithoutExemplar: (...args: unknown[]) => unknown };
    const inc = vi.spyOn(prototype, "incWithoutExemplar");
    try {
      const decisions = labelledCounter(registry, "t_hot_total", "Hot.", ["trigger", "reason"]);
      for (let i = 0; i < 1_000; i++) decisions({ trigger: "PRE_SIGNUP", reason: i % 2 ? "a" : "b" });
      expect(inc).not.toHaveBeenCalled();
      expect(await series(registry, 't_hot_total{trigger="PRE_SIGNUP",reason="a"}')).toBe(500);
      expect(inc).toHaveBeenCalledTimes(2); // once per series, at collection (prom-client sets `inc` to it)
      // Collected again: the same totals, not twice them.
      decisions({ trigger: "PRE_SIGNUP", reason: "a" });
      expect(await series(registry, 't_hot_total{trigger="PRE_SIGNUP",reason="a"}')).toBe(501);
      expect(await series(registry, 't_hot_total{trigger="PRE_SIGNUP",reason="b"}')).toBe(500);
    } finally {
      inc.mockRestore();
    }
  });

  it("registers in the given registry only", async () => {
    const mine = new Registry();
    const other = new Registry();
    labelledCounter(mine, "t_isolated_total", "Isolated.", ["k"])({ k: "v" });
    expect(await series(mine, 't_isolated_total{k="v"}')).toBe(1);
    expect(await other.metrics()).not.toContain("t_isolated_total");
  });
});

describe("latencyHistogram and createRegistry", () => {
  it("buckets observations in seconds, from a quarter millisecond to 2.5 s", async () => {
    const registry = new Registry();
    const histogram = latencyHistogram(registry, "t_duration_seconds", "Durations.", ["trigger"]);
    histogram.observe({ trigger: "PRE_SIGNUP" }, 0.0003);
    histogram.observe({ trigger: "PRE_SIGNUP" }, 2);
    expect(await series(registry, 't_duration_seconds_bucket{le="0.00025",trigger="PRE_SIGNUP"}')).toBe(0);
    expect(await series(registry, 't_duration_seconds_bucket{le="0.0005",trigger="PRE_SIGNUP"}')).toBe(1);
    expect(await series(registry, 't_duration_seconds_bucket{le="1.5",trigger="PRE_SIGNUP"}')).toBe(1);
    expect(await series(registry, 't_duration_seconds_bucket{le="2.5",trigger="PRE_SIGNUP"}')).toBe(2);
    expect(await series(registry, 't_duration_seconds_count{trigger="PRE_SIGNUP"}')).toBe(2);
  });

  it("adds the process' default metrics under the prefix", async () => {
    const text = await createRegistry("unit_").metrics();
    expect(text).toContain("unit_process_cpu_user_seconds_total");
    expect(text).toContain("unit_nodejs_eventloop_lag_seconds");
    expect(await createRegistry().metrics()).toContain("gatehouse_process_resident_memory_bytes");
  });
});
