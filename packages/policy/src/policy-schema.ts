import { TRIGGER_POINTS } from "@gatehouse/contracts";
import { z } from "zod";

const decision = z.enum(["ALLOW", "DENY"]);
const reasonCode = z
  .string()
  .regex(/^[a-z0-9_.-]{1,64}$/, "lower-case letters, digits, '.', '_' or '-', at most 64");

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | {
      emailDomain: {
        disposable?: boolean;
        freeMail?: boolean;
        mx?: "present" | "absent" | "unknown";
        in?: string[];
      };
    }
  | { ip: { listed?: boolean; lists?: string[] } };

export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({ all: z.array(conditionSchema).min(1) }),
    z.strictObject({ any: z.array(conditionSchema).min(1) }),
    z.strictObject({ not: conditionSchema }),
    z.strictObject({
      emailDomain: z.strictObject({
        disposable: z.boolean().optional(),
        freeMail: z.boolean().optional(),
        mx: z.enum(["present", "absent", "unknown"]).optional(),
        in: z.array(z.string().min(1).toLowerCase()).optional(),
      }),
    }),
    z.strictObject({
      ip: z.strictObject({ listed: z.boolean().optional(), lists: z.array(z.string()).optional() }),
    }),
  ]),
);

const membership = z
  .strictObject({
    organization_id: z.string().min(1).optional(),
    external_organization_id: z.string().min(1).optional(),
    roles: z.array(z.string().min(1)).optional(),
  })
  .refine(
    (m) => m.organization_id || m.external_organization_id,
    "organization_id or external_organization_id",
  );

export const outcomeSchema = z.discriminatedUnion("decision", [
  z.strictObject({
    decision: z.literal("ALLOW"),
    reason: reasonCode.optional(),
    /** Static claims for the tokens (PRE_SESSION_CREATION, PRE_M2M_TOKEN_CREATION). */
    claims: z.record(z.string(), z.unknown()).optional(),
    /** Add the claims the workers cached for this user and organization (static claims win on a clash). */
    cachedClaims: z.boolean().optional(),
    createOrganizationMembership: membership.optional(),
  }),
  z.strictObject({
    decision: z.literal("DENY"),
    reason: reasonCode,
    /** Shown to the user by Scalekit; without it Scalekit shows a generic policy message. */
    message: z.string().min(1).max(500).optional(),
  }),
]);

export const ruleSchema = z.strictObject({
  name: z.string().min(1),
  when: conditionSchema,
  outcome: outcomeSchema,
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
  /** Redis failed or the deadline passed: fail open (ALLOW) or fail closed (DENY). */
  fallback: decision.default("ALLOW"),
});

export const policySchema = z.strictObject({
  version: z.literal(1),
  /** The answer for a trigger point Gatehouse does not know yet (on the generic route). */
  unknownTrigger: decision.default("ALLOW"),
  triggers: z.partialRecord(z.enum(TRIGGER_POINTS), triggerPolicySchema).default({}),
});

export type Outcome = z.infer<typeof outcomeSchema>;
export type Rule = z.infer<typeof ruleSchema>;
export type TriggerPolicy = z.infer<typeof triggerPolicySchema>;
export type Policy = z.infer<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
