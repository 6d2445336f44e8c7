import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

export { Counter, Histogram, Registry } from "prom-client";

/** A Prometheus registry with the process' default metrics (CPU, memory, event-loop lag, GC). */
export function createRegistry(prefix = "gatehouse_"): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

/**
 * A counter whose label sets are resolved once and reused: the request path increments by key instead
 * of hashing a label object on every call.
 */
export function labelledCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labels: readonly L[],
) {
  const counter = new Counter({ name, help, labelNames: labels, registers: [registry] });
  const children = new Map<string, { inc(value?: number): void }>();
  return (values: Record<L, string>, by = 1) => {
    const key = labels.map((label) => values[label]).join("\u0000");
    let child = children.get(key);
    if (!child) {
      child = counter.labels(values);
      children.set(key, child);
    }
    child.inc(by);
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
