// Facts as the workers store them, for subjects of the benchmark's own shape: what a worker writes for an
// ordinary company domain, an address no database lists, and a user whose claims service returns a plan.
// Checked against each enrichment's own fact schema, so they cannot drift from what a worker writes.
import type { CacheKeys } from "@gatehouse/decision-cache";
import { DEFAULTS, factKey } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";

export type SampleEnrichment = "email-domain" | "ip-reputation" | "user-claims";

export interface SampleFact {
  readonly key: string;
  readonly fact: unknown;
}

/** The `n`th subject's fact for `enrichment`, under `keys`. */
export function sampleFact(keys: CacheKeys, enrichment: SampleEnrichment, n: number): SampleFact {
  const definition = ENRICHMENTS[enrichment];
  if (enrichment === "email-domain") {
    const domain = `bench-co-${n}.com`;
    const fact = { domain, registrable: domain, disposable: false, freeMail: false, mx: "present" };
    return { key: factKey(keys, definition, { domain }), fact: definition.fact.parse(fact) };
  }
  if (enrichment === "ip-reputation")
    return ipReputationFact(keys, `81.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
  const input = {
    userId: `usr_${93418238346728951n + BigInt(n)}`,
    organizationId: `org_${92561807 + (n % 97)}`,
  };
  const fact = { claims: { plan: "pro", seats: 25, tier: n % 10 === 7 ? "gold" : "standard" } };
  return { key: factKey(keys, definition, input), fact: definition.fact.parse(fact) };
}

/** What the ip-reputation worker writes for an ordinary address on no list. */
export function ipReputationFact(keys: CacheKeys, ip: string): SampleFact {
  const definition = ENRICHMENTS["ip-reputation"];
  const fact = {
    ip,
    lists: [],
    listed: false,
    range: "unicast",
    asn: 64_500 + (ip.length % 7),
    asOrganization: "Example Broadband Ltd",
    country: "DE",
    anonymous: false,
    hosting: false,
  };
  return { key: factKey(keys, definition, { ip }), fact: definition.fact.parse(fact) };
}

/** Each enrichment's TTL, as its worker writes it. */
export const ttlSeconds = (enrichment: SampleEnrichment): number =>
  ENRICHMENTS[enrichment].ttlSeconds ?? DEFAULTS.ttlSeconds;
