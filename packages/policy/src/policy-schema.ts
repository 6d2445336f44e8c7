import { TRIGGER_POINTS } from "@gatehouse/contracts";
import { z } from "zod";
import { addressEntryProblem } from "./address-matcher.js";
import { type Condition, conditionSchema, listName } from "./condition-schema.js";
import { normalizeDomain } from "./normalize.js";
import { outcomeSchema } from "./outcome-schema.js";

const decision = z.enum(["ALLOW", "DENY"]);

const ruleSchema = z.strictObject({
  name: z.string().min(1).max(64),
  when: conditionSchema,
  outcome: outcomeSchema,
  /** Evaluated and recorded (metrics, audit) as what it would have done, but never decides. */
  shadow: z.boolean().default(false),
});

export const triggerPolicySchema = z.strictObject({
  rules: z.array(ruleSchema).default([]),
  default: outcomeSchema.default({ decision: "ALLOW" }),
  /** A needed fact is not cached yet: wait up to `waitMs` for a worker to announce it, then `afterWait`. */
  onMiss: z
    .strictObject({
      waitMs: z.number().int().min(0).max(10_000).default(1_000),
      /** `evaluate`: run the rules with the facts there are (missing facts match nothing). */
      afterWait: z.enum(["evaluate", "ALLOW", "DENY"]).default("evaluate"),
    })
    .default({ waitMs: 1_000, afterWait: "evaluate" }),
  /** Redis failed, or did not answer by the deadline: fail open (ALLOW) or fail closed (DENY). */
  fallback: decision.default("ALLOW"),
  /** The whole trigger in shadow: evaluated and recorded, but every request is answered ALLOW. */
  shadow: z.boolean().default(false),
});

type Issue = { path: (string | number)[]; message: string };

/** References a schema cannot see field by field: list names, address syntax, domain syntax, rule names. */
function crossCheck(policy: {
  lists: Record<string, string[]>;
  triggers: Partial<Record<string, z.infer<typeof triggerPolicySchema>>>;
}): Issue[] {
  const issues: Issue[] = [];
  const addressLists = new Set<string>();
  const domainLists = new Set<string>();
  const checkCondition = (condition: Condition, path: (string | number)[]) => {
    for (const [i, c] of (condition.all ?? []).entries()) checkCondition(c, [...path, "all", i]);
    for (const [i, c] of (condition.any ?? []).entries()) checkCondition(c, [...path, "any", i]);
    if (condition.not) checkCondition(condition.not, [...path, "not"]);
    for (const [field, ref] of [
      ["email", condition.email?.inList],
      ["emailDomain", condition.emailDomain?.inList],
      ["ip", condition.ip?.inList],
      ["organization", condition.organization?.inList],
      ["client", condition.client?.inList],
    ] as const) {
      if (ref === undefined) continue;
      if (!Object.hasOwn(policy.lists, ref))
        issues.push({ path: [...path, field, "inList"], message: `no list named "${ref}" in lists` });
      else if (field === "ip") addressLists.add(ref);
      else if (field === "emailDomain") domainLists.add(ref);
    }
    condition.ip?.in?.forEach((entry, i) => {
      const problem = addressEntryProblem(entry);
      if (problem) issues.push({ path: [...path, "ip", "in", i], message: problem });
    });
    condition.emailDomain?.in?.forEach((entry, i) => {
      if (normalizeDomain(entry) === "")
        issues.push({ path: [...path, "emailDomain", "in", i], message: `"${entry}" is not a domain` });
    });
  };
  for (const [trigger, triggerPolicy] of Object.entries(policy.triggers)) {
    if (!triggerPolicy) continue;
    const names = new Set<string>();
    triggerPolicy.rules.forEach((rule, i) => {
      const path = ["triggers", trigger, "rules", i];
      if (names.has(rule.name))
        issues.push({ path: [...path, "name"], message: `another rule is named "${rule.name}"` });
      names.add(rule.name);
      checkCondition(rule.when, [...path, "when"]);
    });
  }
  for (const name of addressLists) {
    policy.lists[name]?.forEach((entry, i) => {
      const problem = addressEntryProblem(entry);
      if (problem)
        issues.push({ path: ["lists", name, i], message: `${problem} (the list is used by ip.inList)` });
    });
  }
  for (const name of domainLists) {
    policy.lists[name]?.forEach((entry, i) => {
      if (normalizeDomain(entry) === "")
        issues.push({
          path: ["lists", name, i],
          message: `"${entry}" is not a domain (the list is used by emailDomain.inList)`,
        });
    });
  }
  return issues;
}

export const policySchema = z
  .strictObject({
    version: z.literal(1),
    /** The answer for a trigger point Gatehouse does not know yet (on the generic route). */
    unknownTrigger: decision.default("ALLOW"),
    /** Named lists that conditions use with `inList`: email addresses, domains, CIDR blocks, ids. */
    lists: z.record(listName, z.array(z.string().min(1))).default({}),
    triggers: z.partialRecord(z.enum(TRIGGER_POINTS), triggerPolicySchema).default({}),
  })
  .superRefine((policy, ctx) => {
    for (const issue of crossCheck(policy)) ctx.addIssue({ code: "custom", ...issue });
  });

export type Rule = z.infer<typeof ruleSchema>;
export type TriggerPolicy = z.infer<typeof triggerPolicySchema>;
export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
