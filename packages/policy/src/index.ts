export {
  type ComparedField,
  type CompiledPolicy,
  type CompiledTrigger,
  compilePolicy,
  type ReadNeeds,
  velocityCounterId,
  velocitySubject,
} from "./compile-policy.js";
export type { Condition, FactTest, Velocity, VelocitySubject } from "./condition-schema.js";
export { DEFAULT_POLICY } from "./default-policy.js";
export { durationSeconds } from "./duration.js";
export { PolicyError } from "./errors/policy-error.js";
export { type Evaluation, evaluate, evaluateUnless, type ShadowHit } from "./evaluate.js";
export { evaluateWithMisses, OPEN_TRIGGER, triggerPolicyFor } from "./evaluate-request.js";
export {
  type EvaluationInput,
  type FactName,
  factOf,
  fieldAt,
  type PolicyFacts,
  type TeamFactName,
  type TeamFacts,
} from "./facts.js";
export { loadPolicyFile, loadVersionedPolicyFile, parsePolicy, policyVersion } from "./load-policy.js";
export type { Membership, Outcome } from "./outcome-schema.js";
export {
  type Policy,
  type PolicyInput,
  policySchema,
  type Rule,
  type TriggerPolicy,
} from "./policy-schema.js";
export { RequestView, requestView } from "./request-view.js";
