import { labelledCounter, latencyHistogram, type Registry } from "@gatehouse/telemetry";

export type IngressMetrics = ReturnType<typeof createIngressMetrics>;

/** The ingress' Prometheus metrics, with stable names. */
export function createIngressMetrics(registry: Registry) {
  const latency = latencyHistogram(
    registry,
    "gatehouse_decision_duration_seconds",
    "Time from request to answer, by trigger.",
    ["trigger"],
  );
  const latencyByTrigger = new Map<string, { observe(seconds: number): void }>();
  return {
    decisions: labelledCounter(
      registry,
      "gatehouse_decisions_total",
      "Answers given, by trigger, decision and reason.",
      ["trigger", "decision", "reason"],
    ),
    observeLatency(trigger: string, seconds: number) {
      let child = latencyByTrigger.get(trigger);
      if (!child) {
        child = latency.labels(trigger);
        latencyByTrigger.set(trigger, child);
      }
      child.observe(seconds);
    },
    cacheLookups: labelledCounter(
      registry,
      "gatehouse_cache_lookups_total",
      "Fact lookups, by enrichment and result.",
      ["enrichment", "result"],
    ),
    enqueues: labelledCounter(registry, "gatehouse_enqueues_total", "Enrichment jobs asked for, by result.", [
      "enrichment",
      "result",
    ]),
    repeats: labelledCounter(
      registry,
      "gatehouse_idempotent_repeats_total",
      "Repeated interceptor ids answered.",
      ["trigger"],
    ),
    shadowHits: labelledCounter(
      registry,
      "gatehouse_shadow_hits_total",
      "Shadow rules that would have decided, by trigger, rule and the decision they would have given.",
      ["trigger", "rule", "decision"],
    ),
    policyReloads: labelledCounter(
      registry,
      "gatehouse_policy_reloads_total",
      "Policy file changes seen, by result (applied, unchanged, invalid: the running policy stays).",
      ["result"],
    ),
    auditDropped: labelledCounter(
      registry,
      "gatehouse_audit_dropped_total",
      "Audit records dropped (Redis away too long).",
      [],
    ),
  };
}
