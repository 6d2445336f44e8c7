import type { Decision, InterceptorAnswer } from "@gatehouse/contracts";
import type { CompiledOutcome, CompiledTrigger } from "./compile-policy.js";
import { coveredBy } from "./domain-set.js";
import type { EvaluationInput } from "./facts.js";

/** A shadow rule (or a trigger in shadow) that would have decided: recorded, never answered. */
export interface ShadowHit {
  /** The rule's name; for a trigger in shadow, the rule that would have decided or "default". */
  readonly rule: string;
  readonly decision: Decision;
  readonly reason: string;
}

export interface Evaluation {
  readonly answer: InterceptorAnswer;
  /** Internal reason code: for logs, metrics and audit; never shown to users. */
  readonly reason: string;
  /** The rule that decided, if any. */
  readonly rule?: string;
  readonly shadow: readonly ShadowHit[];
}

const NO_SHADOW: readonly ShadowHit[] = Object.freeze([]);

function claimsFor(outcome: CompiledOutcome & { decision: "ALLOW" }, input: EvaluationInput) {
  const cached = outcome.cachedClaims ? input.facts["user-claims"]?.claims : undefined;
  const team = outcome.teamClaims ? input.team.user?.claims : undefined;
  const allowed = outcome.allowedScopes;
  if (!cached && !team && !outcome.claims && !allowed && outcome.aud === undefined) return undefined;
  return {
    ...cached,
    ...team,
    ...outcome.claims,
    ...(allowed && { scope: input.view.scopes.filter((scope) => allowed.has(scope)).join(" ") }),
    ...(outcome.aud !== undefined && { aud: outcome.aud }),
  };
}

function answerFor(outcome: CompiledOutcome, input: EvaluationInput): InterceptorAnswer {
  if (outcome.decision === "DENY") {
    return outcome.message ? { decision: "DENY", error: { message: outcome.message } } : { decision: "DENY" };
  }
  const claims = claimsFor(outcome, input);
  const byDomain = outcome.membershipByDomain;
  const domain = input.view.emailDomain;
  let membership = outcome.createOrganizationMembership;
  if (!membership && byDomain && domain !== undefined) {
    coveredBy(domain, (candidate) => {
      membership = byDomain.get(candidate);
      return membership !== undefined;
    });
  }
  if (!claims && !membership) return { decision: "ALLOW" };
  return {
    decision: "ALLOW",
    response: {
      ...(claims && { claims }),
      ...(membership && { create_organization_membership: membership }),
    },
  };
}

/**
 * The first matching rule that is not in shadow decides, else the trigger's default. Shadow rules that match
 * before it are recorded. Pure and synchronous: microseconds.
 */
export function evaluate(trigger: CompiledTrigger, input: EvaluationInput): Evaluation {
  let shadow = NO_SHADOW;
  let decided: Evaluation | undefined;
  for (const rule of trigger.rules) {
    if (!rule.test(input)) continue;
    const reason = rule.outcome.reason ?? `rule.${rule.name}`;
    if (rule.shadow) {
      shadow = [...shadow, { rule: rule.name, decision: rule.outcome.decision, reason }];
      continue;
    }
    decided = { answer: answerFor(rule.outcome, input), reason, rule: rule.name, shadow };
    break;
  }
  decided ??= {
    answer: answerFor(trigger.default, input),
    reason: trigger.default.reason ?? "policy.default",
    shadow,
  };
  if (!trigger.policy.shadow) return decided;
  return {
    answer: { decision: "ALLOW" },
    reason: "policy.shadow",
    shadow: [
      ...shadow,
      { rule: decided.rule ?? "default", decision: decided.answer.decision, reason: decided.reason },
    ],
  };
}
