import type { TriggerPoint } from "@gatehouse/contracts";
import type { FactName } from "./facts.js";
import type { Condition, Outcome, Policy } from "./policy-schema.js";

function conditionNeeds(condition: Condition, into: Set<FactName>): void {
  if ("all" in condition) for (const c of condition.all) conditionNeeds(c, into);
  else if ("any" in condition) for (const c of condition.any) conditionNeeds(c, into);
  else if ("not" in condition) conditionNeeds(condition.not, into);
  else if ("emailDomain" in condition) into.add("email-domain");
  else if ("ip" in condition) into.add("ip-reputation");
}

function outcomeNeeds(outcome: Outcome, into: Set<FactName>): void {
  if (outcome.decision === "ALLOW" && outcome.cachedClaims) into.add("user-claims");
}

/**
 * Which facts each trigger's rules can read, computed once per policy: the ingress reads exactly these
 * and nothing else, and a policy change never requires recomputing the cache.
 */
export function factNeeds(policy: Policy): Map<TriggerPoint, readonly FactName[]> {
  const needs = new Map<TriggerPoint, readonly FactName[]>();
  for (const [trigger, triggerPolicy] of Object.entries(policy.triggers)) {
    if (!triggerPolicy) continue;
    const into = new Set<FactName>();
    for (const rule of triggerPolicy.rules) {
      conditionNeeds(rule.when, into);
      outcomeNeeds(rule.outcome, into);
    }
    outcomeNeeds(triggerPolicy.default, into);
    needs.set(trigger as TriggerPoint, [...into]);
  }
  return needs;
}
