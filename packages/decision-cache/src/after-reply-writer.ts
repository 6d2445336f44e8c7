import { type Command, isCluster, type RedisClient, sendBatch } from "@gatehouse/redis";
import type { CacheKeys } from "./keys.js";
import { CLAIM_SCRIPT, WRITE_SCRIPT } from "./write-scripts.js";

type WithWriteCommands = RedisClient & {
  gatehouseClaim(numberOfKeys: number, ...args: (string | number)[]): Promise<(0 | 1)[]>;
  gatehouseWrite(numberOfKeys: number, ...args: (string | number)[]): Promise<0>;
};

/** What one decision leaves behind once it is answered. */
export interface AfterReplyEntry {
  /** Set when the answer should be stored for idempotent repeats (the request claimed its id, or is to). */
  readonly answer?: {
    readonly interceptorId: string;
    readonly bucket: number;
    readonly json: string;
    /**
     * The id is not claimed yet (answered from the process' memory, without a read): the batch claims it
     * first. Where another request claimed it already, this one was a repeat answered elsewhere too:
     * neither its answer nor its audit record is written.
     */
    readonly claim?: boolean;
  };
  /** The audit record; test requests go to their own stream. */
  readonly audit: Record<string, unknown>;
  readonly test: boolean;
}

/**
 * An entry waiting to be written; `first` is its claim's result once tried (kept across retries, so a
 * retried batch never claims twice).
 */
type Pending = { readonly entry: AfterReplyEntry; first?: boolean };

export interface AfterReplyWriterOptions {
  /** Flush at least this often. Default: 5 ms. */
  flushMs?: number;
  /** Flush as soon as this many entries wait. Default: 512. */
  maxBatch?: number;
  /** Entries held while Redis is unreachable; beyond it the oldest are dropped (and counted). Default: 20,000. */
  maxBuffered?: number;
  /** Approximate cap on each audit stream's length, in batches. Default: 10,000. */
  auditMaxLen?: number;
  /** How long a stored answer outlives its bucket; at least the idempotency window. Default: 600 s. */
  answerTtlMs?: number;
  /** How long a claimed interceptor id is remembered (the decision cache's). Default: 600 s. */
  idempotencyTtlMs?: number;
  /** Called for each entry whose claim found its id claimed already (a repeat): nothing of it is written. */
  onRepeat?: (entry: AfterReplyEntry) => void;
  /** Called with the number of entries dropped because the buffer was full. */
  onDrop?: (count: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Writes that may happen after the reply, coalesced: whatever accumulates in a few milliseconds goes out
 * as one script per *batch* — one HSET of all answers of a bucket, one XADD whose entry carries the packed
 * audit records — never one command per request; before it, one script claiming the ids answered from
 * memory (SET NX each). On a cluster the same commands go out one by one, pipelined per node. Bounded in
 * memory; flushed on close.
 */
export class AfterReplyWriter {
  #buffer: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  readonly #options: Required<Omit<AfterReplyWriterOptions, "onDrop" | "onError" | "onRepeat">> &
    Pick<AfterReplyWriterOptions, "onDrop" | "onError" | "onRepeat">;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: CacheKeys,
    options: AfterReplyWriterOptions = {},
  ) {
    if (!("gatehouseClaim" in redis)) {
      redis.defineCommand("gatehouseClaim", { lua: CLAIM_SCRIPT });
      redis.defineCommand("gatehouseWrite", { lua: WRITE_SCRIPT });
    }
    this.#options = {
      flushMs: 5,
      maxBatch: 512,
      maxBuffered: 20_000,
      auditMaxLen: 10_000,
      answerTtlMs: 600_000,
      idempotencyTtlMs: 600_000,
      ...options,
    };
  }

  push(entry: AfterReplyEntry): void {
    this.#buffer.push({ entry });
    this.#trim();
    if (this.#buffer.length >= this.#options.maxBatch) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushMs);
  }

  /** Sends what is buffered; on failure keeps it for the next flush. Never rejects. */
  flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#flushing || this.#buffer.length === 0) return this.#flushing ?? Promise.resolve();
    const batch = this.#buffer;
    this.#buffer = [];
    this.#flushing = this.#send(batch)
      .catch((error: unknown) => {
        this.#buffer = batch.concat(this.#buffer);
        this.#trim();
        this.#options.onError?.(error);
      })
      .finally(() => {
        this.#flushing = undefined;
        if (this.#buffer.length > 0)
          this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushMs);
      });
    return this.#flushing;
  }

  /** Flushes until the buffer is empty or `timeoutMs` passes. */
  async close(timeoutMs = 2_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.#buffer.length > 0 || this.#flushing) && Date.now() < until) {
      await this.flush();
      if (this.#buffer.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Keeps the newest `maxBuffered` entries, counting what is dropped. */
  #trim(): void {
    const overflow = this.#buffer.length - this.#options.maxBuffered;
    if (overflow > 0) {
      this.#buffer.splice(0, overflow);
      this.#options.onDrop?.(overflow);
    }
  }

  async #send(batch: Pending[]): Promise<void> {
    await this.#claim(batch);
    const answers = new Map<number, string[]>();
    const audit: Record<string, unknown>[] = [];
    const testAudit: Record<string, unknown>[] = [];
    for (const { entry, first } of batch) {
      if (first === false) continue;
      if (entry.answer) {
        const fields = answers.get(entry.answer.bucket) ?? [];
        fields.push(entry.answer.interceptorId, entry.answer.json);
        answers.set(entry.answer.bucket, fields);
      }
      (entry.test ? testAudit : audit).push(entry.audit);
    }
    const packed = [audit, testAudit].map((records) => (records.length > 0 ? JSON.stringify(records) : ""));
    const ttl = this.#options.answerTtlMs;
    const maxLen = this.#options.auditMaxLen;
    const streams = [this.keys.auditStream, this.keys.testAuditStream];
    if (!isCluster(this.redis)) {
      const buckets = [...answers.keys()].map((bucket) => this.keys.answers(bucket));
      const values = [...answers.values()].flatMap((fields) => [fields.length, ...fields]);
      await (this.redis as WithWriteCommands).gatehouseWrite(
        buckets.length + 2,
        ...buckets,
        ...streams,
        ttl,
        maxLen,
        ...packed,
        ...values,
      );
      return;
    }
    // A cluster: the hashes and streams live in different slots, one command each.
    const commands: Command[] = [];
    for (const [bucket, fields] of answers) {
      const key = this.keys.answers(bucket);
      commands.push(["HSET", key, ...fields], ["PEXPIRE", key, ttl]);
    }
    for (const [index, records] of packed.entries()) {
      if (records !== "")
        commands.push(["XADD", streams[index] as string, "MAXLEN", "~", maxLen, "*", "records", records]);
    }
    await sendBatch(this.redis, commands);
  }

  /**
   * Claims the ids of entries answered without a read (SET NX each): one script on one Redis, one SET per
   * id on a cluster (their keys live in different slots). A claim is tried once: when it fails, its entries
   * count as first answers and are written (a repeat answered at that very moment by another replica may
   * then be audited twice; dropping records would lose them).
   */
  async #claim(batch: readonly Pending[]): Promise<void> {
    const unclaimed: Pending[] = [];
    const ids: string[] = [];
    const buckets: number[] = [];
    for (const pending of batch) {
      const { entry } = pending;
      if (!entry.answer?.claim || pending.first !== undefined) continue;
      unclaimed.push(pending);
      ids.push(this.keys.idempotency(entry.answer.interceptorId));
      buckets.push(entry.answer.bucket);
    }
    if (unclaimed.length === 0) return;
    let first: boolean[];
    try {
      first = await this.#claimIds(ids, buckets);
    } catch (error) {
      this.#options.onError?.(error);
      first = unclaimed.map(() => true);
    }
    for (const [index, pending] of unclaimed.entries()) {
      pending.first = first[index] === true;
      if (!pending.first) this.#options.onRepeat?.(pending.entry);
    }
  }

  async #claimIds(keys: readonly string[], buckets: readonly number[]): Promise<boolean[]> {
    const ttl = this.#options.idempotencyTtlMs;
    if (isCluster(this.redis)) {
      const replies = await sendBatch(
        this.redis,
        keys.map((key, index) => ["SET", key, buckets[index] as number, "NX", "PX", ttl]),
      );
      return replies.map((reply) => reply === "OK");
    }
    const flags = await (this.redis as WithWriteCommands).gatehouseClaim(
      keys.length,
      ...keys,
      ttl,
      ...buckets,
    );
    return flags.map((flag) => flag === 1);
  }
}
