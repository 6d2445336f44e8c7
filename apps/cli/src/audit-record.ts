import { z } from "zod";

// An audit record as the ingress writes it. Every field is optional and a field of the wrong type is
// dropped: records written by older (or newer) ingresses are still printed, with what they hold.
const field = <T extends z.ZodType>(schema: T) => schema.optional().catch(undefined);
const auditRecordSchema = z.object({
  at: field(z.number()),
  trigger: field(z.string()),
  interceptorId: field(z.string().nullable()),
  environmentId: field(z.string().nullable()),
  decision: field(z.string()),
  reason: field(z.string()),
  rule: field(z.string().nullable()),
  cache: field(z.string()),
  ms: field(z.number()),
  test: field(z.boolean()),
  policy: field(z.string().nullable()),
  facts: field(z.record(z.string(), z.unknown())),
  team: field(z.record(z.string(), z.unknown())),
  counts: field(z.record(z.string(), z.number())),
  shadow: field(z.array(z.object({ rule: z.string(), decision: z.string(), reason: z.string() }))),
});

export type AuditRecord = z.infer<typeof auditRecordSchema>;

/** An audit record as the CLI prints it: the fields it knows, each dropped when of the wrong type. */
export function readAuditRecord(raw: Record<string, unknown>): AuditRecord {
  return auditRecordSchema.parse(raw);
}
