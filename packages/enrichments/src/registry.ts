import { emailDomain } from "@gatehouse/enrich-email-domain";
import { ipReputation } from "@gatehouse/enrich-ip-reputation";
import { userClaims } from "@gatehouse/enrich-user-claims";
import type { AnyEnrichment, FactOf } from "@gatehouse/enrichment-sdk";
import type { PolicyFacts } from "@gatehouse/policy";

/**
 * Every enrichment Gatehouse can run: one import and one line each. Configuration only switches
 * registered ones on or off (GATEHOUSE_ENRICHMENTS in the worker).
 */
export const ENRICHMENTS = {
  "email-domain": emailDomain,
  "ip-reputation": ipReputation,
  "user-claims": userClaims,
} as const;

export type EnrichmentName = keyof typeof ENRICHMENTS;

// Compile-time checks: each entry is registered under its own name, and every fact the policy reads is
// produced by an enrichment whose fact has the shape the policy expects.
type NamedAfterKey = { [K in EnrichmentName]: (typeof ENRICHMENTS)[K]["name"] extends K ? true : never };
type FeedsPolicy = {
  [K in keyof PolicyFacts]: K extends EnrichmentName
    ? FactOf<(typeof ENRICHMENTS)[K]> extends NonNullable<PolicyFacts[K]>
      ? true
      : never
    : never;
};
const registryIsConsistent: [NamedAfterKey, FeedsPolicy] = [
  { "email-domain": true, "ip-reputation": true, "user-claims": true },
  { "email-domain": true, "ip-reputation": true, "user-claims": true },
];
void registryIsConsistent;

export const ENRICHMENT_NAMES = Object.keys(ENRICHMENTS) as EnrichmentName[];

export function enrichmentByName(name: string): AnyEnrichment | undefined {
  return Object.hasOwn(ENRICHMENTS, name) ? ENRICHMENTS[name as EnrichmentName] : undefined;
}
