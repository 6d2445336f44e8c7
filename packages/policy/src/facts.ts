import type { RequestView } from "./request-view.js";

/**
 * The facts a policy reads, by enrichment name — the policy's view of what the enrichments store. The
 * registry checks at compile time that each enrichment's fact satisfies its view here.
 */
export interface PolicyFacts {
  "email-domain"?: {
    readonly domain: string;
    readonly registrable: string | null;
    readonly disposable: boolean;
    readonly freeMail: boolean;
    readonly mx: "present" | "absent" | "unknown";
  };
  "ip-reputation"?: {
    /** The blocklists and DNSBL zones that list the address, by their configured names. */
    readonly lists: readonly string[];
    readonly listed: boolean;
    /** The special-purpose range the address is in ("unicast", "private", "loopback", …, as ipaddr.js names it). */
    readonly range: string;
    /** From a MaxMind ASN database when configured; null when unknown. */
    readonly asn: number | null;
    readonly asOrganization: string | null;
    /** ISO 3166-1 alpha-2, upper case, from a MaxMind country database when configured; null when unknown. */
    readonly country: string | null;
    /** From MaxMind's anonymous-IP database when configured (VPN, proxy, Tor exit, …); null when unknown. */
    readonly anonymous: boolean | null;
    /** A hosting or cloud provider's address, when a database says so; null when unknown. */
    readonly hosting: boolean | null;
  };
  "user-claims"?: { readonly claims: Readonly<Record<string, unknown>> };
}

/**
 * An enrichment whose fact the policy reads: one of the above, or any other registered enrichment, whose fact
 * the policy reads with a `fact` condition (field by field, untyped).
 */
export type FactName = keyof PolicyFacts | (string & {});

/**
 * A field of a fact by its path (`a.b` as `["a", "b"]`, reaching into objects); undefined when the fact has no
 * such field of its own.
 */
export function fieldAt(fact: unknown, path: readonly string[]): unknown {
  let value = fact;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The fact of any enrichment by name, untyped: what a `fact` condition reads. */
export function factOf(facts: PolicyFacts, name: FactName): unknown {
  return Object.hasOwn(facts, name) ? (facts as Record<string, unknown>)[name] : undefined;
}

/** What the team wrote about the request's organization and user (admin API, `gatehouse facts load`). */
export interface TeamFacts {
  organization?: { readonly memberCount?: number; readonly allowedDomains?: readonly string[] };
  user?: { readonly claims?: Readonly<Record<string, unknown>> };
}

export type TeamFactName = keyof TeamFacts;

/** Everything one evaluation reads; all of it was fetched in the request's one Redis round trip. */
export interface EvaluationInput {
  readonly view: RequestView;
  readonly facts: PolicyFacts;
  readonly team: TeamFacts;
  /** Velocity counts by counter id (see `velocityCounterId`), this request included. */
  readonly counts: ReadonlyMap<string, number>;
}
