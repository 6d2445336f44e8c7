import type { RedisClient } from "@gatehouse/redis";

/** Batches read per XREVRANGE: each holds the records of a few milliseconds of traffic. */
const AUDIT_PAGE = 200;

/** One stream entry: a batch of audit records, as the ingress' writer packed them. */
export interface AuditBatch {
  readonly entryId: string;
  /** The records' JSON array, unparsed (a search can skip a batch without parsing it). */
  readonly packed: string;
}

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

/**
 * The batches of one audit stream, newest first, a page at a time, to the start of the stream (it is capped,
 * so this is bounded) or until the caller stops. An entry without records is skipped.
 */
export async function* auditBatches(
  redis: RedisClient,
  stream: string,
  pageSize = AUDIT_PAGE,
): AsyncGenerator<AuditBatch> {
  let end = "+";
  for (;;) {
    const page = await redis.xrevrange(stream, end, "-", "COUNT", pageSize);
    for (const [entryId, fields] of page) {
      const packed = recordsField(fields);
      if (packed !== undefined) yield { entryId, packed };
    }
    const oldest = page.at(-1);
    if (page.length < pageSize || oldest === undefined) return;
    end = `(${oldest[0]}`;
  }
}

/** How long one XREAD waits for a new batch: how soon `--follow` notices it was asked to stop. */
const FOLLOW_BLOCK_MS = 1_000;

/**
 * Where a stream ends now: the id of its newest entry (`0-0` when empty). Reading after it, nothing written
 * from then on is missed, however late the first XREAD goes out.
 */
export async function auditStreamEnd(redis: RedisClient, stream: string): Promise<string> {
  const [newest] = await redis.xrevrange(stream, "+", "-", "COUNT", 1);
  return newest?.[0] ?? "0-0";
}

/** The batches written to one audit stream after entry `after`, as they come, until `signal` aborts (within about a second). */
export async function* newAuditBatches(
  redis: RedisClient,
  stream: string,
  after: string,
  signal: AbortSignal,
): AsyncGenerator<AuditBatch> {
  while (!signal.aborted) {
    const reply = (await redis.xread("BLOCK", FOLLOW_BLOCK_MS, "STREAMS", stream, after)) as
      | [string, [string, string[]][]][]
      | null;
    for (const [entryId, fields] of reply?.[0]?.[1] ?? []) {
      after = entryId;
      const packed = recordsField(fields);
      if (packed !== undefined) yield { entryId, packed };
    }
  }
}

/** A batch's records, oldest first; none when the entry is not a JSON array (written by something else). */
export function batchRecords(packed: string): Record<string, unknown>[] {
  let records: unknown;
  try {
    records = JSON.parse(packed);
  } catch {
    return [];
  }
  if (!Array.isArray(records)) return [];
  return records.filter(
    (record): record is Record<string, unknown> => typeof record === "object" && record !== null,
  );
}

/** When a batch was written: the milliseconds of its entry id (`<ms>-<seq>`). */
export function entryMs(entryId: string): number {
  return Number(entryId.split("-")[0]);
}

/** The newest audit record of `interceptorId` in one audit stream; stops at the first match. */
export async function findAuditRecord(
  redis: RedisClient,
  stream: string,
  interceptorId: string,
  pageSize = AUDIT_PAGE,
): Promise<AuditSearch> {
  // The id as it appears in the packed JSON: most batches are skipped without being parsed.
  const needle = JSON.stringify(interceptorId);
  let batches = 0;
  let oldestEntryId: string | undefined;
  for await (const { entryId, packed } of auditBatches(redis, stream, pageSize)) {
    batches += 1;
    oldestEntryId = entryId;
    if (!packed.includes(needle)) continue;
    const record = batchRecords(packed).findLast((r) => r.interceptorId === interceptorId);
    if (record) return { found: { record, entryId }, batches, oldestEntryId };
  }
  return { batches, ...(oldestEntryId !== undefined && { oldestEntryId }) };
}
