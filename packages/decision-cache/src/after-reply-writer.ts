import { type Command, isCluster, type RedisClient, sendBatch } from "@gatehouse/redis";
import type { CacheKeys } from "./keys.js";
import { type PackedAnswer, packAnswers, packRecords, WRITE_SCRIPT } from "./write-scripts.js";

type WithWriteCommand = RedisClient & {
  /** ioredis flattens array arguments: a batch's keys go as an array, never spread into the call. */
  gatehouseWrite(numberOfKeys: number, ...args: (string | number | Buffer | string[])[]): Promise<(0 | 1)[]>;
};

/** What one decision leaves behind once it is answered. */
export interface AfterReplyEntry {
  /** Set when the answer should be stored for idempotent repeats (the request claimed its id, or is to). */
  readonly answer?: {
    readonly interceptorId: string;
    readonly json: string;
    /**
     * The id is not claimed yet (answered from the process' memory, without a read): the batch claims it
     * with its answer. Where another request claimed it already, this one was a repeat answered elsewhere
     * too: its audit record is not written.
     */
    readonly claim?: boolean;
  };
  /** The audit record. */
  readonly audit: Record<string, unknown>;
  /** A test request's record goes to the test stream. */
  readonly test: boolean;
}

/**
 * An entry waiting to be written; on a cluster `first` is its claim's result once tried (kept across
 * retries, so a retried batch never claims twice).
 */
type Pending = { readonly entry: AfterReplyEntry; first?: boolean };

export interface AfterReplyWriterOptions {
  /**
   * Flush at least this often. Default: 20 ms — a quarter of the script calls of 5 ms, each paying the call
   * and an XADD (Redis CPU per warm request: README "Performance"); Scalekit retries an
   * id only after its own timeout, seconds later, so the claim's later write changes nothing.
   */
  flushMs?: number;
  /**
   * Flush once this many entries wait (at the next turn of the event loop), and send at most this many per
   * script. Default: 64. A script holds Redis while it runs (5–10 µs an entry, `npm run bench:scaling --
   * --only=writer`: every request path's read waits behind it) and building it holds the ingress' event
   * loop; a backlog (kept through an outage: up to `maxBuffered`) goes out in batches of this size, one after
   * another, instead of one script of thousands.
   */
  maxBatch?: number;
  /** Entries held while Redis is unreachable; beyond it the oldest are dropped (and counted). Default: 20,000. */
  maxBuffered?: number;
  /** Approximate cap on each audit stream's length, in batches. Default: 10,000. */
  auditMaxLen?: number;
  /** How long a claimed interceptor id is remembered (the decision cache's). Default: 600 s. */
  idempotencyTtlMs?: number;
  /** Called for each entry whose claim found its id claimed already (a repeat): nothing of it is written. */
  onRepeat?: (entry: AfterReplyEntry) => void;
  /** Called with the number of entries dropped because the buffer was full. */
  onDrop?: (count: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Writes that may happen after the reply, coalesced: whatever accumulates in up to `flushMs` goes out
 * as one script per *batch* — each answer in its id's idempotency key (a SET NX claiming the ids answered
 * from memory, a SET XX into the claims reads made), one XADD whose entry carries the packed audit
 * records — never one round trip per request. On a cluster the same commands go out one by one, pipelined
 * per node. Bounded in memory; flushed on close.
 */
export class AfterReplyWriter {
  #buffer: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** The flush of a full batch, due at the next turn of the event loop. */
  #soon: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  readonly #options: Required<Omit<AfterReplyWriterOptions, "onDrop" | "onError" | "onRepeat">> &
    Pick<AfterReplyWriterOptions, "onDrop" | "onError" | "onRepeat">;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: CacheKeys,
    options: AfterReplyWriterOptions = {},
  ) {
    if (!("gatehouseWrite" in redis)) redis.defineCommand("gatehouseWrite", { lua: WRITE_SCRIPT });
    this.#options = {
      flushMs: 20,
      maxBatch: 64,
      maxBuffered: 20_000,
      auditMaxLen: 10_000,
      idempotencyTtlMs: 600_000,
      ...options,
    };
  }

  push(entry: AfterReplyEntry): void {
    this.#buffer.push({ entry });
    this.#trim();
    if (this.#buffer.length >= this.#options.maxBatch) this.#flushSoon();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushMs);
  }

  /**
   * A full batch goes out at the start of the event loop's next turn (its timers phase), not inside the push
   * that filled it nor inside the reply to the batch before: pushes come from answers written in the check
   * phase, where the other answers decided in the same poll phase would wait behind the ~0.4 ms of building
   * the batch (and a reply is read in the poll phase, beside the requests that arrive with it).
   * `npm run bench:ab` against flushing inside the push, three runs: p99 lower in 15 of 20 rounds (medians
   * 2.78 against 3.10 ms) and 14 of 20 (3.12 against 3.71) at 3,000 req/s each, 12 of 16 at 4,000 each;
   * ingress CPU 1.016, 1.001, 0.974.
   */
  #flushSoon(): void {
    this.#soon ??= setTimeout(() => {
      this.#soon = undefined;
      void this.flush();
    }, 0);
  }

  /**
   * Sends the oldest `maxBatch` entries buffered, and the next batch at the next turn once that one is
   * written while a full batch waits; on failure keeps them for the next flush. Never rejects.
   */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    clearTimeout(this.#soon);
    this.#timer = undefined;
    this.#soon = undefined;
    if (this.#flushing || this.#buffer.length === 0) return this.#flushing ?? Promise.resolve();
    const batch = this.#buffer.splice(0, this.#options.maxBatch);
    let failed = false;
    this.#flushing = this.#send(batch)
      .catch((error: unknown) => {
        failed = true;
        this.#buffer = batch.concat(this.#buffer);
        this.#trim();
        this.#options.onError?.(error);
      })
      .finally(() => {
        this.#flushing = undefined;
        if (!failed && this.#buffer.length >= this.#options.maxBatch) this.#flushSoon();
        else if (this.#buffer.length > 0)
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
    clearTimeout(this.#soon);
    this.#timer = undefined;
    this.#soon = undefined;
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
    if (isCluster(this.redis)) return this.#sendToCluster(batch);
    // One script: claims, answers and records together (see write-scripts.ts).
    const keys: string[] = [];
    const claimed: AfterReplyEntry[] = [];
    const records: [string[], string[]] = [[], []];
    const answers: PackedAnswer[] = [];
    for (const { entry } of batch) {
      const stream = entry.test ? 1 : 0;
      const record = records[stream].push(JSON.stringify(entry.audit));
      const answer = entry.answer;
      if (!answer) continue;
      keys.push(this.keys.idempotency(answer.interceptorId));
      if (answer.claim) claimed.push(entry);
      answers.push({
        claim: answer.claim === true,
        record: stream === 0 ? record : -record,
        json: answer.json,
      });
    }
    keys.push(this.keys.auditStream, this.keys.testAuditStream);
    const flags = await (this.redis as WithWriteCommand).gatehouseWrite(
      keys.length,
      keys,
      this.#options.idempotencyTtlMs,
      this.#options.auditMaxLen,
      packRecords(records[0]),
      packRecords(records[1]),
      packAnswers(answers),
    );
    for (const [index, entry] of claimed.entries()) if (flags[index] === 0) this.#options.onRepeat?.(entry);
  }

  /**
   * A cluster: the idempotency keys and the streams live in different slots, one command each — the claims
   * first (a repeat's record is not written), then the answers stored into claims and the records.
   */
  async #sendToCluster(batch: Pending[]): Promise<void> {
    await this.#claimOnCluster(batch);
    const records: [string[], string[]] = [[], []];
    const commands: Command[] = [];
    for (const { entry, first } of batch) {
      if (first === false) continue;
      const answer = entry.answer;
      if (answer && !answer.claim) {
        commands.push(["SET", this.keys.idempotency(answer.interceptorId), answer.json, "XX", "KEEPTTL"]);
      }
      records[entry.test ? 1 : 0].push(JSON.stringify(entry.audit));
    }
    const maxLen = this.#options.auditMaxLen;
    for (const [index, stream] of [this.keys.auditStream, this.keys.testAuditStream].entries()) {
      const packed = packRecords(records[index] as string[]);
      if (packed.length > 0) commands.push(["XADD", stream, "MAXLEN", "~", maxLen, "*", "records", packed]);
    }
    await sendBatch(this.redis, commands);
  }

  /**
   * Claims the ids of entries answered without a read, on a cluster: one SET NX per id, with its answer
   * (their keys live in different slots). A claim is tried once: when it fails, its entries count as first
   * answers and are written (a repeat answered at that very moment by another replica may then be audited
   * twice; dropping records would lose them).
   */
  async #claimOnCluster(batch: readonly Pending[]): Promise<void> {
    const unclaimed = batch.filter(({ entry, first }) => entry.answer?.claim === true && first === undefined);
    if (unclaimed.length === 0) return;
    const ttl = this.#options.idempotencyTtlMs;
    let first: boolean[];
    try {
      const replies = await sendBatch(
        this.redis,
        unclaimed.map(({ entry }) => {
          const answer = entry.answer as NonNullable<AfterReplyEntry["answer"]>;
          return ["SET", this.keys.idempotency(answer.interceptorId), answer.json, "NX", "PX", ttl];
        }),
      );
      first = replies.map((reply) => reply === "OK");
    } catch (error) {
      this.#options.onError?.(error);
      first = unclaimed.map(() => true);
    }
    for (const [index, pending] of unclaimed.entries()) {
      pending.first = first[index] === true;
      if (!pending.first) this.#options.onRepeat?.(pending.entry);
    }
  }
}
