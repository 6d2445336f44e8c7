import { getMany, type RedisClient } from "@gatehouse/redis";
import type { CacheKeys } from "./keys.js";

/** How often a worker says it runs, and how often the ingress looks. */
const PRESENCE_EVERY_MS = 2_000;
/** A worker's word lasts three beats: one missed write (a Redis hiccup) does not make it gone. */
const BEATS_PER_TTL = 3;
/** Looks in a row that must find no worker before an enrichment counts as gone. */
const ABSENT_LOOKS = 2;
/** How long a deployment remembers that it runs workers of an enrichment, after the last one's last beat. */
const RAN_TTL_MS = 7 * 24 * 3_600_000;

/**
 * A worker process says, every `everyMs`, that it runs each of the enrichments `running()` names at that
 * beat (its workers that take jobs): one key per enrichment with a TTL of three beats, shared by every
 * worker running it, and a second one lasting a week, which says that this deployment runs such workers at
 * all. Nothing is deleted on stop (another worker may run the same enrichment): the keys end with the last
 * worker's beats. A beat that fails, or falls while disconnected, is skipped.
 */
export function announcePresence(
  redis: RedisClient,
  keys: CacheKeys,
  running: () => Iterable<string>,
  everyMs = PRESENCE_EVERY_MS,
): { stop(): void } {
  const beat = () => {
    // Not queued while disconnected: a beat is worth something now or never.
    if (redis.status !== "ready") return;
    const ttl = BEATS_PER_TTL * everyMs;
    for (const name of running()) {
      void redis.set(keys.workerPresence(name), "1", "PX", ttl).catch(() => {});
      void redis.set(keys.workerRan(name), "1", "PX", RAN_TTL_MS).catch(() => {});
    }
  };
  beat();
  const timer = setInterval(beat, everyMs).unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Which enrichments' workers have gone: a request that misses a fact only a gone worker could compute does
 * not wait for it. Gone means that workers of the enrichment ran — this process saw one, or the deployment's
 * week-long key says so (an ingress started while they are all down) — and two looks in a row, `everyMs`
 * apart, found none beating: one alone may follow a Redis restart or failover that lost the keys before the
 * workers' next beat. An enrichment no worker ever said it runs counts as present (workers of an older
 * version say nothing; a test writes facts itself), so only a disappearance changes what a request does.
 * Read every `everyMs` off the request path (and by `refresh()`, once connected); a read that fails changes
 * nothing.
 */
export class WorkerPresence {
  /** Each enrichment known to have run: how many looks in a row since found no worker. */
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

  /** True when workers of this enrichment ran, and the last two looks found none. */
  gone(enrichment: string): boolean {
    return (this.#absentLooks.get(enrichment) ?? 0) >= ABSENT_LOOKS;
  }

  /** Reads every enrichment's two keys once; never rejects. */
  async refresh(): Promise<void> {
    if (this.redis.status !== "ready") return;
    const count = this.enrichments.length;
    let values: (string | null)[];
    try {
      values = await getMany(this.redis, [
        ...this.enrichments.map((name) => this.keys.workerPresence(name)),
        ...this.enrichments.map((name) => this.keys.workerRan(name)),
      ]);
    } catch {
      return;
    }
    for (const [index, name] of this.enrichments.entries()) {
      const absent = this.#absentLooks.get(name) ?? (values[count + index] !== null ? 0 : undefined);
      if (values[index] !== null) this.#absentLooks.set(name, 0);
      else if (absent !== undefined) this.#absentLooks.set(name, absent + 1);
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
