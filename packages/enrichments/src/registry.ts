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

// Compile-time checks, nothing to edit when an entry is added: each entry is registered under its own name,
// and every fact the policy's built-in conditions read is produced by an enrichment whose fact has the shape
// they expect (any other enrichment's fact is read with `fact` conditions, field by field).
type NamedAfterKey = { [K in EnrichmentName]: (typeof ENRICHMENTS)[K]["name"] extends K ? true : false };
type FeedsPolicy = {
  [K in keyof PolicyFacts]: K extends EnrichmentName
    ? FactOf<(typeof ENRICHMENTS)[K]> extends NonNullable<PolicyFacts[K]>
      ? true
      : false
    : false;
};
/** true when every value of T is true. */
type Every<T> = false extends T[keyof T] ? false : true;
const registryIsConsistent: [Every<NamedAfterKey>, Every<FeedsPolicy>] = [true, true];
void registryIsConsistent;

export const ENRICHMENT_NAMES = Object.keys(ENRICHMENTS) as EnrichmentName[];

export function enrichmentByName(name: string): AnyEnrichment | undefined {
  return Object.hasOwn(ENRICHMENTS, name) ? ENRICHMENTS[name as EnrichmentName] : undefined;
}
