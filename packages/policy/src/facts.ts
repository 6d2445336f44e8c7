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
  "ip-reputation"?: { readonly lists: readonly string[]; readonly listed: boolean };
  "user-claims"?: { readonly claims: Readonly<Record<string, unknown>> };
}

export type FactName = keyof PolicyFacts;
