import { AfterReplyWriter, type CacheKeys } from "@gatehouse/decision-cache";
import type { RedisClient } from "@gatehouse/redis";

/** An audit record as the ingress writes it. */
export function auditRecord(
  interceptorId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    at: Date.parse("2025-10-09T09:48:02.875Z"),
    trigger: "PRE_SIGNUP",
    interceptorId,
    environmentId: "env_1",
    decision: "ALLOW",
    reason: "policy.default",
    rule: null,
    cache: "hit",
    ms: 1.234,
    test: false,
    policy: "0123456789ab",
    facts: {},
    team: {},
    counts: {},
    shadow: [],
    ...overrides,
  };
}

/** Writes each batch through the ingress's own writer: one stream entry per flush. Throws if a write failed. */
export async function writeAuditBatches(
  redis: RedisClient,
  keys: CacheKeys,
  batches: Record<string, unknown>[][],
): Promise<void> {
  const errors: unknown[] = [];
  const writer = new AfterReplyWriter(redis, keys, {
    flushMs: 60_000,
    onError: (error) => errors.push(error),
  });
  for (const batch of batches) {
    for (const audit of batch) writer.push({ audit, test: audit.test === true });
    await writer.flush();
  }
  await writer.close();
  if (errors.length > 0) throw new AggregateError(errors, "audit batches not written");
}
