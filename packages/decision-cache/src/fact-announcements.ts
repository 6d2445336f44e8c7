import { isCluster, type Redis, type RedisClient } from "@gatehouse/redis";
import type { CacheKeys } from "./keys.js";
import type { LocalFacts } from "./local-facts.js";

export interface FactAnnouncementsOptions {
  /** How long an announcement is remembered for a waiter that registers just after it. Default: 2 s. */
  recentMs?: number;
  /** The process' copies of facts: kept current by the announcements. */
  local?: LocalFacts;
  /**
   * How often the connection holding the subscription is asked for a PING while subscribed; unanswered
   * within two of these, it is closed and made again. Default: 2 s. A connection whose host vanished
   * without closing it (or a node that hangs) hears nothing and says nothing: announcements would be missed
   * in silence while it looked subscribed.
   */
  heartbeatMs?: number;
}

type Waiter = { keys: ReadonlySet<string>; found: Map<string, string>; done: () => void };

/**
 * Wakes a request that waits for a fact the moment a worker announces it: no polling. One subscriber
 * connection per process; a short memory of recent announcements closes the race between a read that
 * missed and the announcement that arrived just before the waiter was registered. With `local`, every
 * announced value also replaces the process' copy, and the copies are served only while subscribed.
 */
export class FactAnnouncements {
  readonly #waiters = new Map<string, Set<Waiter>>();
  #waiting = 0;
  #subscribed = false;
  readonly #recent = new Map<string, { value: string; at: number }>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #heartbeat: NodeJS.Timeout;
  #beating = false;
  readonly #recentMs: number;
  readonly #local: LocalFacts | undefined;

  constructor(
    private readonly subscriber: RedisClient,
    private readonly keys: CacheKeys,
    options: FactAnnouncementsOptions = {},
  ) {
    this.#recentMs = options.recentMs ?? 2_000;
    const local = options.local;
    this.#local = local;
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === keys.announceChannel) this.#announce(message);
    });
    // Announcements published while the connection is down are lost: the copies may be stale from then on.
    subscriber.on("close", () => {
      this.#subscribed = false;
      local?.suspend();
    });
    // ioredis resubscribes after "ready"; our own SUBSCRIBE is answered after its, so then we hear again.
    subscriber.on("ready", () => void this.start().catch(() => {}));
    this.#sweeper = setInterval(() => this.#sweep(), this.#recentMs).unref();
    const heartbeatMs = options.heartbeatMs ?? 2_000;
    this.#heartbeat = setInterval(() => this.#beat(2 * heartbeatMs), heartbeatMs).unref();
  }

  /** Requests waiting for an announcement right now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * True from the answer to SUBSCRIBE until the connection closes: announcements are heard, a waiting miss
   * is woken by the worker's write (the ingress' `/readyz` includes it).
   */
  get subscribed(): boolean {
    return this.#subscribed;
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.keys.announceChannel);
    this.#subscribed = true;
    this.#local?.resume();
  }

  /** Resolves with the announced values once every key is announced or `timeoutMs` passes; never rejects. */
  wait(keys: readonly string[], timeoutMs: number): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const now = Date.now();
    for (const key of keys) {
      const recent = this.#recent.get(key);
      if (recent && now - recent.at < this.#recentMs) found.set(key, recent.value);
    }
    const missing = new Set(keys.filter((key) => !found.has(key)));
    if (missing.size === 0 || timeoutMs <= 0) return Promise.resolve(found);

    this.#waiting++;
    return new Promise((resolve) => {
      let finished = false;
      const waiter: Waiter = {
        keys: missing,
        found,
        done: () => {
          if (finished) return;
          finished = true;
          this.#waiting--;
          clearTimeout(timer);
          for (const key of missing) {
            const set = this.#waiters.get(key);
            set?.delete(waiter);
            if (set?.size === 0) this.#waiters.delete(key);
          }
          resolve(found);
        },
      };
      const timer = setTimeout(waiter.done, timeoutMs);
      for (const key of missing) {
        let set = this.#waiters.get(key);
        if (!set) {
          set = new Set();
          this.#waiters.set(key, set);
        }
        set.add(waiter);
      }
    });
  }

  close(): void {
    clearInterval(this.#sweeper);
    clearInterval(this.#heartbeat);
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.done();
  }

  /**
   * PINGs the connection that holds the subscription (one PING at a time); no answer within `silenceMs` and
   * it is closed: one Redis' client reconnects and resubscribes (closing it says "not subscribed" meanwhile),
   * a cluster's subscriber connection ends and ioredis subscribes again on a node it picks (if that one hangs
   * too, a later beat closes it in turn).
   */
  #beat(silenceMs: number): void {
    const connection = subscriptionConnection(this.subscriber);
    // Not ready is no exception: a cluster's new subscriber connection to a node that hangs never becomes
    // ready, and its queued PING goes unanswered like any other.
    if (!this.#subscribed || this.#beating || !connection) return;
    this.#beating = true;
    const cluster = isCluster(this.subscriber);
    const silent = setTimeout(() => connection.disconnect(!cluster), silenceMs).unref();
    connection
      .ping()
      .catch(() => {})
      .finally(() => {
        clearTimeout(silent);
        this.#beating = false;
      });
  }

  #announce(message: string): void {
    const newline = message.indexOf("\n");
    if (newline <= 0) return;
    const key = message.slice(0, newline);
    const value = message.slice(newline + 1);
    const now = Date.now();
    this.#recent.set(key, { value, at: now });
    this.#local?.put(key, value, now);
    const set = this.#waiters.get(key);
    if (!set) return;
    for (const waiter of [...set]) {
      waiter.found.set(key, value);
      if ([...waiter.keys].every((k) => waiter.found.has(k))) waiter.done();
    }
  }

  #sweep(): void {
    const cutoff = Date.now() - this.#recentMs;
    for (const [key, entry] of this.#recent) if (entry.at < cutoff) this.#recent.delete(key);
  }
}

/**
 * The connection that holds the subscription: one Redis' client itself; on a cluster the connection ioredis
 * keeps for subscriptions on one node (`subscriber.getInstance()`, not in its types), undefined if none yet.
 */
function subscriptionConnection(client: RedisClient): Redis | undefined {
  if (!isCluster(client)) return client;
  return (
    client as unknown as { subscriber?: { getInstance(): Redis | undefined } }
  ).subscriber?.getInstance();
}
