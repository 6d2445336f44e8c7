import { z } from "zod";

const reasonCode = z
  .string()
  .regex(/^[a-z0-9_.-]{1,64}$/, "lower-case letters, digits, '.', '_' or '-', at most 64");

export const membershipSchema = z
  .strictObject({
    organization_id: z.string().min(1).optional(),
    external_organization_id: z.string().min(1).optional(),
    roles: z.array(z.string().min(1)).optional(),
  })
  .refine(
    (m) => m.organization_id || m.external_organization_id,
    "organization_id or external_organization_id",
  );

const allowSchema = z.strictObject({
  decision: z.literal("ALLOW"),
  reason: reasonCode.optional(),
  /** Static claims for the tokens (PRE_SESSION_CREATION, PRE_M2M_TOKEN_CREATION); they win on a clash. */
  claims: z.record(z.string(), z.unknown()).optional(),
  /** Add the claims the user-claims enrichment cached for this user and organization. */
  cachedClaims: z.boolean().optional(),
  /** Add the claims the team wrote for this user (admin API, `gatehouse facts load`). */
  teamClaims: z.boolean().optional(),
  /** M2M: the token's `scope` becomes the requested scopes that are in this set. */
  scopes: z.strictObject({ allow: z.array(z.string().min(1)) }).optional(),
  /** M2M: the token's audience. */
  aud: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Provision the user into this organization. */
  createOrganizationMembership: membershipSchema.optional(),
  /** Provision the user into the organization mapped from their email domain (or a parent of it). */
  membershipByEmailDomain: z.record(z.string().min(1), membershipSchema).optional(),
});

const denySchema = z.strictObject({
  decision: z.literal("DENY"),
  /** Internal: logs, metrics, audit; never shown to users. */
  reason: reasonCode,
  /** Shown to the user by Scalekit; without it Scalekit shows a generic policy message. */
  message: z.string().min(1).max(500).optional(),
});

export const outcomeSchema = z.discriminatedUnion("decision", [allowSchema, denySchema]);

export type Membership = z.infer<typeof membershipSchema>;
export type AllowOutcome = z.infer<typeof allowSchema>;
export type Outcome = z.infer<typeof outcomeSchema>;
