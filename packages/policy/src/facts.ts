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

export type FactName = keyof PolicyFacts;
