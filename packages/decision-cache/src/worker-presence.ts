import { getMany, type RedisClient } from "@gatehouse/redis";
import type { CacheKeys } from "./keys.js";

/** How often a worker says it runs, and how often the ingress looks. */
const PRESENCE_EVERY_MS = 2_000;
/** A worker's word lasts three beats: one missed write (a Redis hiccup) does not make it gone. */
const BEATS_PER_TTL = 3;
/** Looks in a row that must find no worker before an enrichment counts as gone. */
const ABSENT_LOOKS = 2;

/**
 * A worker process says, every `everyMs`, that it runs each of its enrichments: one key per enrichment with
 * a TTL of three beats, shared by every worker running it. Nothing is deleted on stop (another worker may run
 * the same enrichment): the key ends with the last worker's beats. A beat that fails, or falls while
 * disconnected, is skipped.
 */
export function announcePresence(
  redis: RedisClient,
  keys: CacheKeys,
  enrichments: readonly string[],
  everyMs = PRESENCE_EVERY_MS,
): { stop(): void } {
  const beat = () => {
    // Not queued while disconnected: a beat is worth something now or never.
    if (redis.status !== "ready") return;
    const ttl = BEATS_PER_TTL * everyMs;
    for (const name of enrichments) void redis.set(keys.workerPresence(name), "1", "PX", ttl).catch(() => {});
  };
  beat();
  const timer = setInterval(beat, everyMs).unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Which enrichments' workers the ingress has seen, and which of them have gone since: a request that misses
 * a fact only a gone worker could compute does not wait for it. An enrichment whose worker was never seen by
 * this process counts as present (workers of an older version say nothing; a test writes facts itself), so
 * only a disappearance changes what a request does; and it takes two looks in a row, `everyMs` apart, that
 * find no key — one alone may follow a Redis restart or failover that lost the keys before the workers'
 * next beat. Read every `everyMs` off the request path (and by `refresh()`, once connected); a read that
 * fails changes nothing.
 */
export class WorkerPresence {
  /** Each enrichment seen running: how many looks in a row since found no worker. */
  readonly #absentLooks = new Map<string, number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: CacheKeys,
    private readonly enrichments: readonly string[],
    everyMs = PRESENCE_EVERY_MS,
  ) {
    this.#timer = setInterval(() => void this.refresh(), everyMs).unref();
  }

  /** True when a worker of this enrichment was seen, and the last two looks found none. */
  gone(enrichment: string): boolean {
    return (this.#absentLooks.get(enrichment) ?? 0) >= ABSENT_LOOKS;
  }

  /** Reads every enrichment's key once; never rejects. */
  async refresh(): Promise<void> {
    if (this.redis.status !== "ready") return;
    let values: (string | null)[];
    try {
      values = await getMany(
        this.redis,
        this.enrichments.map((name) => this.keys.workerPresence(name)),
      );
    } catch {
      return;
    }
    for (const [index, name] of this.enrichments.entries()) {
      const absent = this.#absentLooks.get(name);
      if (values[index] !== null) this.#absentLooks.set(name, 0);
      else if (absent !== undefined) this.#absentLooks.set(name, absent + 1);
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
