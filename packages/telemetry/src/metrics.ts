import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * A Prometheus registry with the process' default metrics (CPU, memory, event-loop lag, GC). The lag is
 * sampled by a timer every `eventLoopPrecisionMs`: prom-client's 10 ms default wakes an idle process 100
 * times a second, ~8 ms of CPU a second on this VM — worth it where lag is latency (the ingress), not in a
 * process that mostly waits (the worker).
 */
export function createRegistry(prefix = "gatehouse_", eventLoopPrecisionMs = 10): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix, eventLoopMonitoringPrecision: eventLoopPrecisionMs });
  return registry;
}

/**
 * A counter for the request path: each label set's count is a number in nested maps, handed to prom-client
 * only when the metrics are collected (a scrape). prom-client's own `inc`, even on a child bound to its
 * labels, builds a hash string of the labels on every call (lib/counter.js, `hashObject`): garbage for every
 * count of every request. `npm run bench:micro` times both.
 */
export function labelledCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labels: readonly L[],
) {
  type Series = { readonly labels: Record<L, string>; value: number };
  const series: Series[] = [];
  // One level per label, in `labels` order; the last level holds the series.
  const root = new Map<string, unknown>();
  new Counter({
    name,
    help,
    labelNames: labels,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels: values, value } of series) this.inc(values, value);
    },
  });
  const single: Series | undefined =
    labels.length === 0 ? { labels: {} as Record<L, string>, value: 0 } : undefined;
  if (single) series.push(single);
  return (values: Record<L, string>, by = 1) => {
    if (single) {
      single.value += by;
      return;
    }
    let level = root;
    for (let index = 0; index < labels.length - 1; index++) {
      const value = values[labels[index] as L];
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (!next) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const last = values[labels[labels.length - 1] as L];
    let found = level.get(last) as Series | undefined;
    if (!found) {
      const copy = {} as Record<L, string>;
      for (const label of labels) copy[label] = values[label];
      found = { labels: copy, value: 0 };
      level.set(last, found);
      series.push(found);
    }
    found.value += by;
  };
}

export function latencyHistogram<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labels: readonly L[],
) {
  return new Histogram({
    name,
    help,
    labelNames: labels,
    // Seconds: the interesting range is 0.25 ms (a warm hit) to the deadline (1.5 s by default).
    buckets: [0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5],
    registers: [registry],
  });
}
