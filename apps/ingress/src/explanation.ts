import type { PolicyFacts, ShadowHit, TeamFacts } from "@gatehouse/policy";

/** The inputs a decision was made from. */
export interface Explanation {
  readonly facts: PolicyFacts;
  readonly team: TeamFacts;
  /** Velocity counts by counter id, as the policy read them. */
  readonly counts: ReadonlyMap<string, number>;
  readonly shadow: readonly ShadowHit[];
}

/**
 * The explanation as the audit keeps it: what each fact said, without whom it was about. No email domain, no
 * IP address, no claim values and no organization's domains go into the audit stream, only what the rules
 * compared (flags, lists, ranges, counts) and the names of the claims that were added.
 */
export function auditExplanation({ facts, team, counts, shadow }: Explanation) {
  const email = facts["email-domain"];
  const ip = facts["ip-reputation"];
  const claims = facts["user-claims"]?.claims;
  return {
    facts: {
      ...(email && {
        "email-domain": { disposable: email.disposable, freeMail: email.freeMail, mx: email.mx },
      }),
      ...(ip && {
        "ip-reputation": {
          lists: ip.lists,
          listed: ip.listed,
          range: ip.range,
          asn: ip.asn,
          country: ip.country,
          anonymous: ip.anonymous,
          hosting: ip.hosting,
        },
      }),
      ...(claims && { "user-claims": { claimNames: Object.keys(claims) } }),
    },
    team: {
      ...(team.organization && {
        organization: {
          memberCount: team.organization.memberCount ?? null,
          allowedDomains: team.organization.allowedDomains?.length ?? null,
        },
      }),
      ...(team.user && { user: { claimNames: Object.keys(team.user.claims ?? {}) } }),
    },
    counts: Object.fromEntries(counts),
    shadow,
  };
}
