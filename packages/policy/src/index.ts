export { DEFAULT_POLICY } from "./default-policy.js";
export { PolicyError } from "./errors/policy-error.js";
export { type Evaluation, evaluate } from "./evaluate.js";
export { factNeeds } from "./fact-needs.js";
export type { FactName, PolicyFacts } from "./facts.js";
export { loadPolicyFile, parsePolicy } from "./load-policy.js";
export {
  type Condition,
  type Outcome,
  type Policy,
  type PolicyInput,
  policySchema,
  type Rule,
  type TriggerPolicy,
} from "./policy-schema.js";
