import { isCluster, type RedisClient } from "@gatehouse/redis";
import type { CacheKeys } from "./keys.js";
import { COUNT_SCRIPT, READ_SCRIPT } from "./read-script.js";
import type { CounterKeys } from "./velocity-counter.js";

export type CacheRead =
  /**
   * First sight of this interceptor id: the raw values, in the order asked (null for a miss), and each
   * counter's [this window, previous window] counts, this request included. `claimed` false: Redis is full
   * (maxmemory) and took no write — the id is not claimed and the counts were not stored.
   */
  | { kind: "fresh"; values: (string | null)[]; counts: [number, number][]; claimed: boolean }
  /** A repeat: the first request's answer JSON, or null while that one is still being answered. */
  | { kind: "repeat"; answer: string | null };

export interface DecisionCacheOptions {
  /** How long an interceptor id is remembered: at least the signature tolerance, past and future. Default: 600 s. */
  idempotencyTtlMs?: number;
}

type ReadReply = [0 | 1 | 2, ...(string | number | null)[]];
type WithReadCommand = RedisClient & {
  gatehouseCount(current: string, previous: string, ttlMs: number): Promise<[number, number]>;
  gatehouseRead(numberOfKeys: number, ...args: (string | number)[]): Promise<ReadReply>;
};

/** The ingress' view of the cache: one command per request that claims the id and reads every fact. */
export class DecisionCache {
  readonly idempotencyTtlMs: number;
  readonly #redis: WithReadCommand;

  readonly #cluster: boolean;

  constructor(
    redis: RedisClient,
    readonly keys: CacheKeys,
    options: DecisionCacheOptions = {},
  ) {
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? 600_000;
    if (!("gatehouseRead" in redis)) {
      redis.defineCommand("gatehouseRead", { lua: READ_SCRIPT });
      redis.defineCommand("gatehouseCount", { lua: COUNT_SCRIPT, numberOfKeys: 2 });
    }
    this.#redis = redis as WithReadCommand;
    this.#cluster = isCluster(redis);
  }

  /**
   * Claims the id, GETs `keys` and counts the request in `counters`: one command on one Redis; on a cluster,
   * one parallel wave of single-slot commands (see `#readInOneWave`).
   */
  async read(
    interceptorId: string,
    keys: readonly string[],
    counters: readonly CounterKeys[],
  ): Promise<CacheRead> {
    if (this.#cluster) return this.#readInOneWave(interceptorId, keys, counters);
    const counterKeys = counters.flatMap((counter) => [counter.current, counter.previous]);
    const reply = await this.#redis.gatehouseRead(
      1 + keys.length + counterKeys.length,
      this.keys.idempotency(interceptorId),
      ...keys,
      ...counterKeys,
      this.idempotencyTtlMs,
      keys.length,
      ...counters.map((counter) => counter.ttlMs),
    );
    if (reply[0] === 0) return { kind: "repeat", answer: (reply[1] as string | null) ?? null };
    const values = reply.slice(1, 1 + keys.length) as (string | null)[];
    const counts: [number, number][] = [];
    for (let at = 1 + keys.length; at < reply.length; at += 2)
      counts.push([reply[at] as number, reply[at + 1] as number]);
    return { kind: "fresh", values, counts, claimed: reply[0] === 1 };
  }

  /**
   * A Redis Cluster cannot run one script over keys of many slots: the claim, each GET and each counter go
   * out at once (ioredis pipelines them per node), so the read still costs one round trip to each node.
   * A counter cannot know yet whether the claim succeeds; a repeat takes its increments back (Scalekit's
   * retries are rare, and a limit may count one too many only while a retry is in flight).
   */
  async #readInOneWave(
    interceptorId: string,
    keys: readonly string[],
    counters: readonly CounterKeys[],
  ): Promise<CacheRead> {
    const redis = this.#redis;
    const [claimed, values, counts] = await Promise.all([
      redis
        .set(this.keys.idempotency(interceptorId), "", "PX", this.idempotencyTtlMs, "NX")
        // Its node full (maxmemory): decided from what the cluster holds, unclaimed (see READ_SCRIPT).
        .catch((error: Error) => {
          if (error.message.startsWith("OOM")) return "full" as const;
          throw error;
        }),
      Promise.all(keys.map((key) => redis.get(key))),
      Promise.all(counters.map((c) => redis.gatehouseCount(c.current, c.previous, c.ttlMs))),
    ]);
    if (claimed === "OK" || claimed === "full")
      return { kind: "fresh", values, counts, claimed: claimed === "OK" };
    await Promise.all(counters.map((c) => redis.decr(c.current)));
    return { kind: "repeat", answer: await this.storedAnswer(interceptorId) };
  }

  /** The answer stored for a repeated id, or null while its first request is still being answered. */
  async storedAnswer(interceptorId: string): Promise<string | null> {
    return (await this.#redis.get(this.keys.idempotency(interceptorId))) || null;
  }
}
