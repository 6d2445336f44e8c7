import type { Decision, InterceptorAnswer } from "@gatehouse/contracts";
import type { CompiledOutcome, CompiledTrigger } from "./compile-policy.js";
import { coveredBy } from "./domain-set.js";
import type { EvaluationInput, FactName } from "./facts.js";

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
  const claims = {
    ...cached,
    ...team,
    ...outcome.claims,
    ...(allowed && { scope: input.view.scopes.filter((scope) => allowed.has(scope)).join(" ") }),
    ...(outcome.aud !== undefined && { aud: outcome.aud }),
  };
  // No claims to add (a user the claims service knows nothing about): a bare ALLOW, not `"claims": {}`.
  for (const _ in claims) return claims;
  return undefined;
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

const NONE_MISSING: ReadonlySet<FactName> = new Set();

/**
 * The first matching rule that is not in shadow decides, else the trigger's default. Shadow rules that match
 * before it are recorded (one after it is never reached). Pure and synchronous: microseconds.
 */
export function evaluate(trigger: CompiledTrigger, input: EvaluationInput): Evaluation {
  return evaluateUnless(trigger, input, NONE_MISSING) as Evaluation;
}

/**
 * The decision if it does not depend on the `missing` facts — a rule that decides before any rule reading
 * one of them — else undefined: then it is worth waiting for them. Shadow rules that read a missing fact
 * are skipped, as they never change the answer.
 */
export function evaluateUnless(
  trigger: CompiledTrigger,
  input: EvaluationInput,
  missing: ReadonlySet<FactName>,
): Evaluation | undefined {
  const reads = (facts: ReadonlySet<FactName>) => missing.size > 0 && [...facts].some((f) => missing.has(f));
  let shadow = NO_SHADOW;
  let decided: Evaluation | undefined;
  for (const rule of trigger.rules) {
    if (reads(rule.reads)) {
      if (rule.shadow) continue;
      return undefined;
    }
    if (!rule.test(input)) continue;
    const reason = rule.outcome.reason ?? `rule.${rule.name}`;
    if (rule.shadow) {
      shadow = [...shadow, { rule: rule.name, decision: rule.outcome.decision, reason }];
      continue;
    }
    decided = { answer: answerFor(rule.outcome, input), reason, rule: rule.name, shadow };
    break;
  }
  if (!decided) {
    if (reads(trigger.defaultReads)) return undefined;
    decided = {
      answer: answerFor(trigger.default, input),
      reason: trigger.default.reason ?? "policy.default",
      shadow,
    };
  }
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
