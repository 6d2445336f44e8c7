import { decodeFact, expiresAt, type FactRecord } from "./fact-record.js";

export interface LocalFactsOptions {
  /** How long a copy is served from memory at most (between 3/4 of it and all of it), whatever the fact's own TTL. */
  readonly maxAgeMs: number;
  /** Copies kept at most; beyond it the oldest go first. Default: 100,000. */
  readonly maxEntries?: number;
  /**
   * Reads keys from Redis (each value, or null where there is none). A copy still asked for in the last
   * quarter of its life is read again in the background, and kept for another `maxAgeMs`: a subject asked
   * for steadily never sends a request to Redis. Without it, such a copy expires and the next request for it
   * reads Redis itself.
   */
  readonly reread?: (keys: readonly string[]) => Promise<readonly (string | null)[]>;
  /** A background read failed: its copies are served until they expire, then requests read Redis. */
  readonly onRereadError?: (error: unknown) => void;
}

type Entry = {
  readonly record: FactRecord;
  until: number;
  /** From when a request for this copy has it read again; never when the fact itself expires first. */
  rereadAt: number;
  rereading: boolean;
};

/**
 * Facts this process has read from Redis or heard announced by a worker, decoded, so a warm request is
 * answered without a Redis round trip. Redis stays the source of truth: a copy lives at most `maxAgeMs`
 * (and never past the fact's own expiry), an announcement replaces it at once, and nothing is served
 * while announcements may be missed (`suspend`, from the subscriber's disconnection until it is back).
 */
export class LocalFacts {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  #live = false;
  /** Copies to read again, gathered over one turn of the event loop and read together. */
  #due: [string, Entry][] = [];

  constructor(private readonly options: LocalFactsOptions) {
    this.#maxEntries = options.maxEntries ?? 100_000;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The fact while its copy is current; undefined otherwise (then read Redis). */
  get(key: string, now = Date.now()): FactRecord | undefined {
    if (!this.#live) return undefined;
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.until > now) {
      if (now >= entry.rereadAt && !entry.rereading) this.#rereadLater(key, entry);
      return entry.record;
    }
    this.#entries.delete(key);
    return undefined;
  }

  /**
   * Keeps a copy of the raw value just read or announced and returns it decoded (undefined when it is not a
   * fact record). An older record never replaces a newer one: a read that left Redis before a worker's
   * write may arrive after that write's announcement. The same record again, as a copy read again usually
   * is, extends the copy held: nothing new stays in memory for the collector to promote and, a lifetime
   * later, collect from the old generation.
   */
  put(key: string, raw: string, now = Date.now()): FactRecord | undefined {
    const record = decodeFact(raw);
    if (!record || !this.#live) return record;
    const held = this.#entries.get(key);
    if (held && held.record.at > record.at) return held.record;
    // Between 3/4 and all of maxAgeMs: copies taken together (a warm-up, a burst) do not all expire, and
    // send their requests to Redis, in the same moment.
    const maxAge = this.options.maxAgeMs * (0.75 + 0.25 * Math.random());
    const expires = expiresAt(record);
    const until = Math.min(now + maxAge, expires);
    if (until <= now) return record;
    // A fact that expires before its copy would is not read again: its own refresh (a worker's write,
    // announced) replaces the copy.
    const rereadAt =
      this.options.reread && now + maxAge < expires ? now + 0.75 * maxAge : Number.POSITIVE_INFINITY;
    this.#entries.delete(key);
    this.#dropExpired(now);
    // Compared as text only when the write time matches (a copy read again): two writes in one millisecond
    // may differ.
    if (held && held.record.at === record.at && JSON.stringify(held.record) === raw) {
      held.until = until;
      held.rereadAt = rereadAt;
      held.rereading = false;
      this.#entries.set(key, held);
      return held.record;
    }
    this.#entries.set(key, { record, until, rereadAt, rereading: false });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return record;
  }

  /** Announcements reach this process again (subscribed): copies may be kept and served. */
  resume(): void {
    this.#live = true;
  }

  /** Announcements may be missed from now on (subscriber disconnected): forget every copy, serve none. */
  suspend(): void {
    this.#live = false;
    this.#entries.clear();
  }

  /**
   * Copies are held in the order they were last kept, which is about the order they end in (within the
   * spread of their ends): the ended ones at the front go now. A subject asked for once — a one-off sign-up,
   * a fact announced for a request that never comes back — leaves memory when its copy ends, not when
   * `maxEntries` newer copies have pushed it out: memory follows the subjects of the last `maxAgeMs`.
   */
  #dropExpired(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.until > now) return;
      this.#entries.delete(key);
    }
  }

  #rereadLater(key: string, entry: Entry): void {
    // Once per copy: a read that fails is not retried, and the copy expires on time.
    entry.rereading = true;
    if (this.#due.push([key, entry]) === 1) setImmediate(() => this.#reread());
  }

  #reread(): void {
    const due = this.#due;
    this.#due = [];
    // Suspended meanwhile (the subscriber is gone, or the ingress is closing): every copy is forgotten.
    if (!this.#live) return;
    const reread = this.options.reread as NonNullable<LocalFactsOptions["reread"]>;
    reread(due.map(([key]) => key)).then(
      (values) => {
        const now = Date.now();
        for (const [index, [key, entry]] of due.entries()) {
          const raw = values[index];
          if (raw) this.put(key, raw, now);
          // Gone from Redis: so is the copy, unless an announcement replaced it meanwhile.
          else if (this.#entries.get(key) === entry) this.#entries.delete(key);
        }
      },
      (error: unknown) => this.options.onRereadError?.(error),
    );
  }
}
