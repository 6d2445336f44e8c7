import type { Redis } from "ioredis";
import type { CacheKeys } from "./keys.js";
import { READ_SCRIPT, STORED_ANSWER_SCRIPT } from "./read-script.js";

export type CacheRead =
  /** First sight of this interceptor id: the raw facts, in the order asked, null for a miss. */
  | { kind: "fresh"; facts: (string | null)[] }
  /** A repeat: the first request's answer JSON, or null while that one is still being answered. */
  | { kind: "repeat"; answer: string | null };

export interface DecisionCacheOptions {
  /** How long an interceptor id is remembered: at least the signature tolerance, past and future. Default: 600 s. */
  idempotencyTtlMs?: number;
  /** Width of one answers bucket. Default: 60 s. */
  bucketMs?: number;
}

type ReadReply = [0 | 1, ...(string | null)[]];
type WithReadCommand = Redis & {
  gatehouseRead(numberOfKeys: number, ...args: (string | number)[]): Promise<ReadReply>;
  gatehouseStoredAnswer(
    idempotencyKey: string,
    answersPrefix: string,
    interceptorId: string,
  ): Promise<string | null>;
};

/** The ingress' view of the cache: one command per request that claims the id and reads every fact. */
export class DecisionCache {
  readonly idempotencyTtlMs: number;
  readonly bucketMs: number;
  readonly #redis: WithReadCommand;

  constructor(
    redis: Redis,
    readonly keys: CacheKeys,
    options: DecisionCacheOptions = {},
  ) {
    this.idempotencyTtlMs = options.idempotencyTtlMs ?? 600_000;
    this.bucketMs = options.bucketMs ?? 60_000;
    if (!("gatehouseRead" in redis)) {
      redis.defineCommand("gatehouseRead", { lua: READ_SCRIPT });
      redis.defineCommand("gatehouseStoredAnswer", { lua: STORED_ANSWER_SCRIPT, numberOfKeys: 1 });
    }
    this.#redis = redis as WithReadCommand;
  }

  /** The bucket an answer given now is stored in. */
  bucket(now = Date.now()): number {
    return Math.floor(now / this.bucketMs);
  }

  async read(interceptorId: string, factKeys: readonly string[], bucket: number): Promise<CacheRead> {
    const reply = await this.#redis.gatehouseRead(
      1 + factKeys.length,
      this.keys.idempotency(interceptorId),
      ...factKeys,
      bucket,
      this.idempotencyTtlMs,
      this.keys.answersPrefix,
      interceptorId,
    );
    if (reply[0] === 1) return { kind: "fresh", facts: reply.slice(1) as (string | null)[] };
    return { kind: "repeat", answer: reply[1] ?? null };
  }

  /** The answer stored for a repeated id, or null while its first request is still being answered. */
  async storedAnswer(interceptorId: string): Promise<string | null> {
    return this.#redis.gatehouseStoredAnswer(
      this.keys.idempotency(interceptorId),
      this.keys.answersPrefix,
      interceptorId,
    );
  }
}
