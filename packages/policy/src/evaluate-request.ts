import type { InterceptorRequest } from "@gatehouse/contracts";
import type { CompiledPolicy, CompiledTrigger } from "./compile-policy.js";
import { type Evaluation, evaluate } from "./evaluate.js";
import type { EvaluationInput } from "./facts.js";

/** A trigger the policy does not mention: allowed, reading nothing. */
export const OPEN_TRIGGER: Omit<CompiledTrigger, "trigger"> = {
  policy: {
    rules: [],
    default: { decision: "ALLOW" },
    onMiss: { waitMs: 0, afterWait: "evaluate" },
    fallback: "ALLOW",
    shadow: false,
  },
  rules: [],
  default: { decision: "ALLOW" },
  defaultReads: new Set(),
  needs: { facts: [], team: [], counters: [], comparedFields: new Map() },
};

/** The compiled policy of a request's trigger, or the open one when the policy does not mention it. */
export function triggerPolicyFor(policy: CompiledPolicy, request: InterceptorRequest): CompiledTrigger {
  return policy.triggers.get(request.trigger_point) ?? { ...OPEN_TRIGGER, trigger: request.trigger_point };
}

/**
 * The decision once the facts there are have been gathered and any wait for missing ones is over:
 * `missing` says whether a fact the request should have (its subject is in the request) is still not
 * cached; then the trigger's `onMiss.afterWait` decides, unless that is `evaluate`. The ingress and
 * `gatehouse policy test` decide through here alike.
 */
export function evaluateWithMisses(
  trigger: CompiledTrigger,
  input: EvaluationInput,
  missing: boolean,
): Evaluation {
  const { afterWait } = trigger.policy.onMiss;
  if (missing && afterWait !== "evaluate") {
    return { answer: { decision: afterWait }, reason: "cache.miss", shadow: [] };
  }
  return evaluate(trigger, input);
}
