// The ingress' Prometheus counters, read before and after a scenario: decisions by reason, cache lookups,
// enqueues and its garbage collections — what the answers alone do not show.

/** Series → value, e.g. `gatehouse_decisions_total{trigger="PRE_SIGNUP",decision="ALLOW",reason="policy.default"}`. */
export type Scrape = Map<string, number>;

export async function scrape(ingressUrl: string): Promise<Scrape> {
  const text = await (await fetch(`${ingressUrl}/metrics`)).text();
  const series: Scrape = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** Counter increases of the series whose name is `metric`, keyed by their label set. */
export function increases(before: Scrape, after: Scrape, metric: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of after) {
    if (!series.startsWith(`${metric}{`)) continue;
    const increase = value - (before.get(series) ?? 0);
    if (increase > 0) out[series.slice(metric.length + 1, -1)] = increase;
  }
  return out;
}

/** The ingress' garbage collections over a window, from prom-client's GC histogram (all kinds together). */
export interface GcTotals {
  readonly pauses: number;
  readonly seconds: number;
  /** Pauses longer than 10 ms (the histogram's bucket bound). */
  readonly over10ms: number;
}

const GC = "gatehouse_nodejs_gc_duration_seconds";

export function gcTotals(before: Scrape, after: Scrape): GcTotals {
  const total = (values: Record<string, number>, keep: (labels: string) => boolean = () => true) =>
    Object.entries(values).reduce((sum, [labels, value]) => sum + (keep(labels) ? value : 0), 0);
  const pauses = total(increases(before, after, `${GC}_count`));
  return {
    pauses,
    seconds: total(increases(before, after, `${GC}_sum`)),
    over10ms:
      pauses - total(increases(before, after, `${GC}_bucket`), (labels) => labels.includes('le="0.01"')),
  };
}
