/**
 * The key schema. Everything Gatehouse stores lives under `<prefix>:v1:`, so a format change bumps the
 * version and never reads old bytes as new; facts carry the enrichment's own version in their key too.
 */
export interface CacheKeys {
  readonly prefix: string;
  /** What one enrichment found about one subject: `gh:v1:fact:email-domain.v1:example.com`. */
  fact(enrichment: string, version: number, subject: string): string;
  /**
   * What the team told Gatehouse about one organization or user (admin API, `gatehouse facts load`):
   * `gh:v1:team:organization:org_123`. Written by the team, never by a worker; no TTL unless the team sets one.
   */
  team(kind: TeamFactKind, id: string): string;
  /**
   * One fixed window of a velocity counter (`ip:60`) for one subject: `gh:v1:velocity:{ip:60:203.0.113.7}:29000123`.
   * The braces keep a subject's windows in one Redis Cluster slot, so one command reads this window and the last.
   */
  velocity(counter: string, subject: string, window: number): string;
  /**
   * Claimed by the first request with this interceptor id: '' while it is being answered, then its answer
   * JSON, which repeats get; lives the idempotency window.
   */
  idempotency(interceptorId: string): string;
  /** Set while a bulk warm of one enrichment's list is fresh, so each worker start doesn't redo it. */
  warmMarker(enrichment: string, version: number): string;
  /** Refreshed every few seconds while a worker runs this enrichment (worker-presence.ts). */
  workerPresence(enrichment: string): string;
  /** Refreshed with it, but lasting days: this deployment runs workers of this enrichment (worker-presence.ts). */
  workerRan(enrichment: string): string;
  /** Audit stream of production decisions, and the one of test requests (kept apart, like Scalekit does). */
  readonly auditStream: string;
  readonly testAuditStream: string;
  /** Pub/sub channel on which workers announce new facts. */
  readonly announceChannel: string;
}

export type TeamFactKind = "organization" | "user";

export function cacheKeys(prefix = "gh"): CacheKeys {
  const root = `${prefix}:v1:`;
  return {
    prefix,
    fact: (enrichment, version, subject) => `${root}fact:${enrichment}.v${version}:${subject}`,
    team: (kind, id) => `${root}team:${kind}:${id}`,
    velocity: (counter, subject, window) => `${root}velocity:{${counter}:${subject}}:${window}`,
    idempotency: (interceptorId) => `${root}answer:${interceptorId}`,
    warmMarker: (enrichment, version) => `${root}warm:${enrichment}.v${version}`,
    workerPresence: (enrichment) => `${root}workers:${enrichment}`,
    workerRan: (enrichment) => `${root}workers-ran:${enrichment}`,
    auditStream: `${root}audit`,
    testAuditStream: `${root}audit:test`,
    announceChannel: `${root}announce`,
  };
}
