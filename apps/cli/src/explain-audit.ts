import type { RedisClient } from "@gatehouse/redis";

/** Batches read per XREVRANGE: each holds the records of a few milliseconds of traffic. */
const AUDIT_PAGE = 200;

/** Where one audit record was found. */
export interface AuditMatch {
  /** The record as the ingress wrote it. */
  readonly record: Record<string, unknown>;
  /** The stream entry (one batch) that holds it. */
  readonly entryId: string;
}

export interface AuditSearch {
  readonly found?: AuditMatch;
  /** Batches read; when nothing was found, every batch the stream holds. */
  readonly batches: number;
  /** The oldest entry read. */
  readonly oldestEntryId?: string;
}

function recordsField(fields: string[]): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === "records") return fields[i + 1];
  return undefined;
}

function newestWithId(packed: string, interceptorId: string): Record<string, unknown> | undefined {
  let records: unknown;
  try {
    records = JSON.parse(packed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(records)) return undefined;
  for (let i = records.length - 1; i >= 0; i--) {
    const record: unknown = records[i];
    if (typeof record === "object" && record !== null && "interceptorId" in record) {
      if (record.interceptorId === interceptorId) return record as Record<string, unknown>;
    }
  }
  return undefined;
}

/**
 * The newest audit record of `interceptorId` in one audit stream. Reads the batches newest first, a page at
 * a time, and stops at the first match or at the start of the stream (it is capped, so this is bounded).
 */
export async function findAuditRecord(
  redis: RedisClient,
  stream: string,
  interceptorId: string,
  pageSize = AUDIT_PAGE,
): Promise<AuditSearch> {
  // The id as it appears in the packed JSON: most batches are skipped without being parsed.
  const needle = JSON.stringify(interceptorId);
  let end = "+";
  let batches = 0;
  let oldestEntryId: string | undefined;
  for (;;) {
    const page = await redis.xrevrange(stream, end, "-", "COUNT", pageSize);
    for (const [entryId, fields] of page) {
      batches += 1;
      oldestEntryId = entryId;
      const packed = recordsField(fields);
      if (packed === undefined || !packed.includes(needle)) continue;
      const record = newestWithId(packed, interceptorId);
      if (record) return { found: { record, entryId }, batches, oldestEntryId };
    }
    if (page.length < pageSize || oldestEntryId === undefined) break;
    end = `(${oldestEntryId}`;
  }
  return { batches, ...(oldestEntryId !== undefined && { oldestEntryId }) };
}
