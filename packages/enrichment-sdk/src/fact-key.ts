import type { CacheKeys } from "@gatehouse/decision-cache";
import type { AnyEnrichment } from "./define-enrichment.js";

/** Where the fact an enrichment computes for `input` lives in the decision cache. */
export function factKey(keys: CacheKeys, enrichment: AnyEnrichment, input: unknown): string {
  return keys.fact(enrichment.name, enrichment.version, enrichment.subject(input));
}
