import { createHash, randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { CacheKeys } from "@gatehouse/decision-cache";
import { bullPrefix, type StartContext, type StartedHandler } from "@gatehouse/enrichment-sdk";
import { type JobsOptions, Queue, Worker } from "bullmq";
import { downloadFeed } from "./download-feed.js";
import { FeedError } from "./errors/feed-error.js";
import type { BlocklistSlot } from "./ip-reputation-handler.js";
import { type Blocklist, type FeedBlocklistSource, indexBlocklist } from "./load-blocklists.js";

/** The queue of the feed refreshes, under the deployment's BullMQ prefix. */
export const FEED_QUEUE = "feeds.ip-reputation";

/** Where the last good copy of a feed lives: a hash with its body, its URL, validators and counts. */
export const feedKey = (keys: CacheKeys, name: string) => `${keys.prefix}:v1:feed:ip-reputation:${name}`;

/** A feed's refresh schedule, and the deduplication id of its first-start download, in FEED_QUEUE. */
const feedJobId = (name: string) => `ip-reputation:${name}`;

export interface FeedStoreOptions {
  readonly feeds: readonly FeedBlocklistSource[];
  /** How often the feeds are downloaded again, cluster-wide. */
  readonly refreshMs: number;
  /** The longest one download may take. */
  readonly timeoutMs: number;
  /** How often every worker checks Redis for a newer copy of each feed. Default: 30 s. */
  readonly pollMs?: number;
  /** A failed refresh is tried twice more, after this and then twice this. Default: 30 s. */
  readonly retryBackoffMs?: number;
}

interface Loaded {
  readonly blocklist: Blocklist;
  readonly sha256: string;
}

/**
 * The URL feeds. One refresh per feed runs cluster-wide: a BullMQ job scheduler per feed adds a `refresh`
 * job every `refreshMs`, and whichever worker takes it downloads the feed and stores it in Redis
 * (`feedKey`). Every worker reloads its in-memory copy when the stored one changes (a cheap poll of the
 * copy's hash). A failed download, or one that is empty or mostly malformed, keeps the last good copy (its
 * TTL is extended), logs a warning, and is retried with backoff: a list is never emptied by a bad feed.
 * The stored copy lives three refresh periods past its last refresh attempt, so it outlives outages of the
 * feed as long as some worker runs, and does not outlive the deployment by much.
 */
export class FeedStore {
  readonly #feeds: ReadonlyMap<string, FeedBlocklistSource>;
  readonly #loaded = new Map<string, Loaded>();
  #context: StartContext | undefined;

  constructor(private readonly options: FeedStoreOptions) {
    this.#feeds = new Map(options.feeds.map((feed) => [feed.name, feed]));
  }

  /** One slot per feed, for the handler: empty until the feed's first copy is loaded. */
  get slots(): BlocklistSlot[] {
    return this.options.feeds.map((feed) => ({
      name: feed.name,
      current: () => this.#loaded.get(feed.name)?.blocklist,
    }));
  }

  get #ttlMs(): number {
    return 3 * this.options.refreshMs;
  }

  /**
   * Schedules the refreshes, loads the stored copies, and downloads (through the queue, so once for the
   * cluster) every feed that has none, waiting up to the download timeout for them. A feed that is still
   * missing then is logged; the enrichment's jobs fail (and are retried) until it is there.
   */
  async start(context: StartContext): Promise<StartedHandler> {
    if (this.#context !== undefined) throw new Error("FeedStore.start may be called once");
    this.#context = context;
    const { redis, keys, log } = context;
    const prefix = bullPrefix(keys.prefix);
    const queue = new Queue(FEED_QUEUE, { connection: redis, prefix });
    queue.on("error", (error) => log.warn({ err: error.message }, "feed queue error"));
    const worker = new Worker(FEED_QUEUE, (job) => this.#refresh(String(job.data?.name)), {
      connection: redis,
      prefix,
      concurrency: Math.max(1, this.#feeds.size),
    });
    worker.on("error", (error) => log.warn({ err: error.message }, "feed worker error"));
    const jobOptions: JobsOptions = {
      attempts: 3,
      backoff: { type: "exponential", delay: this.options.retryBackoffMs ?? 30_000 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    };
    let timer: NodeJS.Timeout | undefined;
    const close = async () => {
      clearInterval(timer);
      await worker.close();
      await queue.close();
    };
    try {
      for (const name of this.#feeds.keys()) {
        await queue.upsertJobScheduler(
          feedJobId(name),
          { every: this.options.refreshMs },
          { name: "refresh", data: { name }, opts: jobOptions },
        );
      }
      // A feed dropped from the configuration: its schedule would add refreshes no worker knows, forever.
      const configured = new Set([...this.#feeds.keys()].map(feedJobId));
      for (const { key } of await queue.getJobSchedulers()) {
        if (configured.has(key)) continue;
        await queue.removeJobScheduler(key);
        log.info({ scheduler: key }, "removed the refresh schedule of a feed no longer configured");
      }
      await this.#reload();
      const missing = () => [...this.#feeds.keys()].filter((name) => !this.#loaded.has(name));
      for (const name of missing()) {
        await queue.add("refresh", { name }, { ...jobOptions, deduplication: { id: feedJobId(name) } });
      }
      const until = Date.now() + this.options.timeoutMs + 2_000;
      while (missing().length > 0 && Date.now() < until) {
        await sleep(100);
        await this.#reload();
      }
      for (const name of missing()) {
        log.warn(
          { list: name, url: this.#feeds.get(name)?.url },
          "IP blocklist feed not downloaded yet: ip-reputation jobs fail and are retried until it is",
        );
      }
    } catch (error) {
      await close();
      throw error;
    }
    timer = setInterval(() => void this.#reload(), this.options.pollMs ?? 30_000);
    timer.unref();
    return { close };
  }

  #started(): StartContext {
    if (this.#context === undefined) throw new Error("FeedStore is not started");
    return this.#context;
  }

  /** Loads every stored copy that differs from the one in memory (and is of the configured URL). */
  async #reload(): Promise<void> {
    const { redis, keys, log } = this.#started();
    for (const feed of this.#feeds.values()) {
      try {
        const key = feedKey(keys, feed.name);
        const [sha256, url] = await redis.hmget(key, "sha256", "url");
        if (!sha256 || url !== feed.url || sha256 === this.#loaded.get(feed.name)?.sha256) continue;
        const [storedSha, body] = await redis.hmget(key, "sha256", "body");
        if (!storedSha || typeof body !== "string") continue;
        const { set, counts } = indexBlocklist(body);
        this.#loaded.set(feed.name, {
          blocklist: { summary: { ...feed, ...counts }, set },
          sha256: storedSha,
        });
        log.info({ list: feed.name, ...counts }, "IP blocklist feed loaded");
      } catch (error) {
        log.warn({ list: feed.name, err: (error as Error).message }, "IP blocklist feed not reloaded");
      }
    }
  }

  /**
   * The refresh job. Downloads overlap when a scheduled run, a worker's first-start request and retries
   * meet; a lock per feed lets one download at a time, and a copy checked within half a period is fresh.
   */
  async #refresh(name: string): Promise<"stored" | "not-modified" | "fresh" | "coalesced" | "unknown"> {
    const { redis, keys } = this.#started();
    const feed = this.#feeds.get(name);
    // Queued before its feed left the configuration (its schedule is removed when a worker starts).
    if (feed === undefined) return "unknown";
    const lock = `${feedKey(keys, name)}:lock`;
    const token = randomUUID();
    const lockMs = this.options.timeoutMs + 5_000;
    if ((await redis.set(lock, token, "PX", lockMs, "NX")) !== "OK") {
      const until = Date.now() + lockMs;
      while ((await redis.exists(lock)) === 1 && Date.now() < until) await sleep(50);
      return "coalesced";
    }
    try {
      return await this.#download(feed);
    } finally {
      if ((await redis.get(lock)) === token) await redis.del(lock);
    }
  }

  async #download(feed: FeedBlocklistSource): Promise<"stored" | "not-modified" | "fresh"> {
    const { redis, keys, log } = this.#started();
    const { name } = feed;
    const key = feedKey(keys, name);
    try {
      const [url, etag, lastModified, checkedAt] = await redis.hmget(
        key,
        "url",
        "etag",
        "lastModified",
        "checkedAt",
      );
      const ours = url === feed.url;
      if (ours && Number(checkedAt) > Date.now() - this.options.refreshMs / 2) return "fresh";
      const validators = ours ? { etag: etag ?? undefined, lastModified: lastModified ?? undefined } : {};
      const download = await downloadFeed(feed, { timeoutMs: this.options.timeoutMs, ...validators });
      if (download.status === "not-modified") {
        await redis.multi().hset(key, "checkedAt", Date.now()).pexpire(key, this.#ttlMs).exec();
        return "not-modified";
      }
      const { counts } = indexBlocklist(download.text);
      // An empty or mostly malformed body is an error page or a truncated file far more often than a list.
      if (counts.entries === 0) throw new FeedError(name, feed.url, "the download holds no IP address");
      if (counts.skipped > counts.entries) {
        throw new FeedError(
          name,
          feed.url,
          `the download is mostly malformed (${counts.skipped} of ${counts.skipped + counts.entries} lines)`,
        );
      }
      const now = Date.now();
      await redis
        .multi()
        .del(key)
        .hset(key, {
          url: feed.url,
          body: download.text,
          sha256: createHash("sha256").update(download.text).digest("hex"),
          etag: download.validators.etag ?? "",
          lastModified: download.validators.lastModified ?? "",
          fetchedAt: now,
          checkedAt: now,
          entries: counts.entries,
          skipped: counts.skipped,
        })
        .pexpire(key, this.#ttlMs)
        .exec();
      log.info({ list: name, ...counts }, "IP blocklist feed downloaded");
      await this.#reload();
      return "stored";
    } catch (error) {
      // Keep the last good copy for as long as refreshes keep failing.
      await redis.pexpire(key, this.#ttlMs).catch(() => {});
      log.warn(
        { list: name, url: feed.url, reason: (error as Error).message },
        "IP blocklist feed refresh failed: keeping the last good copy",
      );
      throw error;
    }
  }
}
