/** A fact as stored: when it was found, when it should be refreshed, and the enrichment's own data. */
export interface FactRecord<Fact = unknown> {
  /** Epoch ms when the fact was computed. */
  readonly at: number;
  /** Epoch ms after which a reader should ask for a refresh (the fact is still served until it expires). */
  readonly refreshAt: number;
  readonly fact: Fact;
}

/** Refresh once 80% of the TTL has passed: readers keep hitting while the worker recomputes. */
const REFRESH_AT = 0.8;

export function encodeFact<Fact>(fact: Fact, ttlSeconds: number, now = Date.now()): string {
  const record: FactRecord<Fact> = {
    at: now,
    refreshAt: now + Math.floor(ttlSeconds * 1000 * REFRESH_AT),
    fact,
  };
  return JSON.stringify(record);
}

/** Epoch ms when the fact's key expires in Redis: the TTL it was written with, after `at`. */
export function expiresAt(record: FactRecord): number {
  return record.at + (record.refreshAt - record.at) / REFRESH_AT;
}

/** Undefined for bytes that are not a fact record: a corrupt entry is a miss, never a crash. */
export function decodeFact(raw: string): FactRecord | undefined {
  try {
    const record = JSON.parse(raw) as Partial<FactRecord>;
    if (typeof record?.at !== "number" || typeof record.refreshAt !== "number" || record.fact === undefined) {
      return undefined;
    }
    return record as FactRecord;
  } catch {
    return undefined;
  }
}
