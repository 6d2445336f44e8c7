import { z } from "zod";

export const DECISIONS = ["ALLOW", "DENY"] as const;
export type Decision = (typeof DECISIONS)[number];

const organizationMembershipSchema = z
  .looseObject({
    organization_id: z.string().min(1).optional(),
    external_organization_id: z.string().min(1).optional(),
    roles: z.array(z.string()).optional(),
  })
  .refine((m) => m.organization_id !== undefined || m.external_organization_id !== undefined, {
    message: "organization_id or external_organization_id is required",
  });

/** What Gatehouse answers: `decision` always; a user-facing message on DENY; claims or a membership on ALLOW. */
export const interceptorAnswerSchema = z.looseObject({
  decision: z.enum(DECISIONS),
  error: z.looseObject({ message: z.string() }).optional(),
  response: z
    .looseObject({
      claims: z.record(z.string(), z.unknown()).optional(),
      create_organization_membership: organizationMembershipSchema.optional(),
    })
    .optional(),
});

export type InterceptorAnswer = z.infer<typeof interceptorAnswerSchema>;
export type OrganizationMembership = z.infer<typeof organizationMembershipSchema>;
