import {
  type ComparedField,
  factOf,
  fieldAt,
  type PolicyFacts,
  type ShadowHit,
  type TeamFacts,
} from "@gatehouse/policy";
import type { Decided } from "./decide.js";

/** The inputs a decision was made from. */
export interface Explanation {
  readonly facts: PolicyFacts;
  readonly team: TeamFacts;
  /** Velocity counts by counter id, as the policy read them. */
  readonly counts: ReadonlyMap<string, number>;
  readonly shadow: readonly ShadowHit[];
  /** The fields the policy's `fact` conditions compare, by enrichment: recorded as they were. */
  readonly compared: ReadonlyMap<string, readonly ComparedField[]>;
}

/**
 * The audit record of one answer. Its explanation part is what each fact said, without whom it was about:
 * no email domain, no IP address, no claim values and no organization's domains go into the audit stream,
 * only what the rules compared (flags, lists, ranges, counts) and the names of the claims that were added —
 * and the fields the policy's `fact` conditions compare, as they were (the team chose those).
 * Built field by field, without object spread (see decide.ts).
 */
export function auditRecord(decided: Decided, ms: number): Record<string, unknown> {
  const { about, verdict, explanation } = decided;
  const record: Record<string, unknown> = {
    at: Date.now(),
    trigger: about.trigger,
    interceptorId: about.interceptorId ?? null,
    environmentId: about.environmentId ?? null,
    decision: verdict.decision,
    reason: verdict.reason,
    rule: verdict.rule ?? null,
    cache: decided.cache,
    ms: Math.round(ms * 1000) / 1000,
    test: about.test,
    policy: decided.policyVersion ?? null,
  };
  if (explanation) {
    record.facts = auditFacts(explanation.facts, explanation.compared);
    record.team = auditTeam(explanation.team);
    record.counts = Object.fromEntries(explanation.counts);
    record.shadow = explanation.shadow;
  }
  return record;
}

function auditFacts(
  facts: PolicyFacts,
  compared: ReadonlyMap<string, readonly ComparedField[]>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const email = facts["email-domain"];
  if (email) out["email-domain"] = { disposable: email.disposable, freeMail: email.freeMail, mx: email.mx };
  const ip = facts["ip-reputation"];
  if (ip) {
    out["ip-reputation"] = {
      lists: ip.lists,
      listed: ip.listed,
      range: ip.range,
      asn: ip.asn,
      country: ip.country,
      anonymous: ip.anonymous,
      hosting: ip.hosting,
    };
  }
  const claims = facts["user-claims"]?.claims;
  if (claims) out["user-claims"] = { claimNames: Object.keys(claims) };
  for (const [enrichment, fields] of compared) {
    const fact = factOf(facts, enrichment);
    if (fact === undefined) continue;
    const summary = (out[enrichment] ?? {}) as Record<string, unknown>;
    for (const { field, path } of fields) summary[field] = fieldAt(fact, path) ?? null;
    out[enrichment] = summary;
  }
  return out;
}

function auditTeam(team: TeamFacts): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (team.organization) {
    out.organization = {
      memberCount: team.organization.memberCount ?? null,
      allowedDomains: team.organization.allowedDomains?.length ?? null,
    };
  }
  if (team.user) out.user = { claimNames: Object.keys(team.user.claims ?? {}) };
  return out;
}
