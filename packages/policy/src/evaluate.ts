import type { InterceptorAnswer } from "@gatehouse/contracts";
import type { PolicyFacts } from "./facts.js";
import type { Condition, Outcome, TriggerPolicy } from "./policy-schema.js";

export interface Evaluation {
  readonly answer: InterceptorAnswer;
  /** Internal reason code: for logs, metrics and audit; never shown to users. */
  readonly reason: string;
  /** The rule that decided, if any. */
  readonly rule?: string;
}

function matches(condition: Condition, facts: PolicyFacts): boolean {
  if ("all" in condition) return condition.all.every((c) => matches(c, facts));
  if ("any" in condition) return condition.any.some((c) => matches(c, facts));
  if ("not" in condition) return !matches(condition.not, facts);
  if ("emailDomain" in condition) {
    const fact = facts["email-domain"];
    if (!fact) return false;
    const want = condition.emailDomain;
    if (want.disposable !== undefined && fact.disposable !== want.disposable) return false;
    if (want.freeMail !== undefined && fact.freeMail !== want.freeMail) return false;
    if (want.mx !== undefined && fact.mx !== want.mx) return false;
    if (
      want.in &&
      !want.in.includes(fact.domain) &&
      !(fact.registrable && want.in.includes(fact.registrable))
    ) {
      return false;
    }
    return true;
  }
  const fact = facts["ip-reputation"];
  if (!fact) return false;
  const want = condition.ip;
  if (want.listed !== undefined && fact.listed !== want.listed) return false;
  if (want.lists && !want.lists.some((list) => fact.lists.includes(list))) return false;
  return true;
}

function answerFor(outcome: Outcome, facts: PolicyFacts): InterceptorAnswer {
  if (outcome.decision === "DENY") {
    return outcome.message ? { decision: "DENY", error: { message: outcome.message } } : { decision: "DENY" };
  }
  const cached = outcome.cachedClaims ? facts["user-claims"]?.claims : undefined;
  const claims = cached || outcome.claims ? { ...cached, ...outcome.claims } : undefined;
  const membership = outcome.createOrganizationMembership;
  if (!claims && !membership) return { decision: "ALLOW" };
  return {
    decision: "ALLOW",
    response: {
      ...(claims && { claims }),
      ...(membership && { create_organization_membership: membership }),
    },
  };
}

/** First matching rule decides, else the trigger's default. Pure and synchronous: microseconds. */
export function evaluate(policy: TriggerPolicy, facts: PolicyFacts): Evaluation {
  for (const rule of policy.rules) {
    if (matches(rule.when, facts)) {
      return {
        answer: answerFor(rule.outcome, facts),
        reason: rule.outcome.reason ?? `rule.${rule.name}`,
        rule: rule.name,
      };
    }
  }
  return { answer: answerFor(policy.default, facts), reason: policy.default.reason ?? "policy.default" };
}
