import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { type CacheKeys, cacheKeys } from "@gatehouse/decision-cache";
import { bullPrefix, type StartContext, type StartedHandler } from "@gatehouse/enrichment-sdk";
import { capturedLog, cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { Queue } from "bullmq";
import { describe, expect, inject, it, vi } from "vitest";
import { FEED_QUEUE, FeedStore, type FeedStoreOptions, feedKey } from "./feed-store.js";
import { ipReputation } from "./index.js";
import type { IpReputationHandler } from "./ip-reputation-handler.js";

const _redisUrl = inject("redisUrl");
const redis = testRedis();

const cleanups = cleanupsAfterEach();

/** What the feed server answers; changed by the tests while it runs. */
interface FeedAnswer {
  status: number;
  body: string;
  delayMs: number;
  etag?: string;
}

/** A feed on 127.0.0.1 that counts its requests and honours If-None-Match. */
async function feedServer(answer: FeedAnswer) {
  const requests: { ifNoneMatch: string | undefined }[] = [];
  const server: Server = createServer((request, response) => {
    const ifNoneMatch = request.headers["if-none-match"];
    requests.push({ ifNoneMatch });
    const reply = () => {
      if (answer.etag !== undefined && ifNoneMatch === answer.etag) {
        response.writeHead(304).end();
        return;
      }
      response.writeHead(answer.status, {
        "content-type": "text/plain",
        ...(answer.etag !== undefined && { etag: answer.etag }),
      });
      response.end(answer.body);
    };
    if (answer.delayMs > 0) setTimeout(reply, answer.delayMs);
    else reply();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/lists/drop.txt`, requests, answer };
}

/** A worker's context under a fresh prefix, its log lines kept. */
function context(keys: CacheKeys): StartContext & { lines: string[] } {
  const { log, lines } = capturedLog("feed-store-test");
  return { redis, keys, log, lines };
}

function newKeys(): CacheKeys {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  cleanups.push(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length > 0) await redis.del(...found);
  });
  return keys;
}

async function startStore(options: FeedStoreOptions, given: StartContext): Promise<FeedStore> {
  const store = new FeedStore(options);
  const started: StartedHandler = await store.start(given);
  cleanups.push(() => started.close());
  return store;
}

const has = (store: FeedStore, address: string) => store.slots[0]?.current()?.set.has(address);

describe("FeedStore", () => {
  it("downloads a feed Redis does not hold, once for all workers, and keeps it three refresh periods", async () => {
    const feed = await feedServer({ status: 200, body: "# drop\n192.0.2.0/24\n198.51.100.7\n", delayMs: 50 });
    const keys = newKeys();
    const options = { feeds: [{ name: "drop", url: feed.url }], refreshMs: 60_000, timeoutMs: 2_000 };
    const [first, second] = await Promise.all([
      startStore(options, context(keys)),
      startStore(options, context(keys)),
    ]);
    expect([has(first, "192.0.2.9"), has(second, "198.51.100.7"), has(first, "203.0.113.1")]).toEqual([
      true,
      true,
      false,
    ]);
    expect(first.slots[0]?.current()?.summary).toEqual({
      name: "drop",
      url: feed.url,
      entries: 2,
      ranges: 2,
      skipped: 0,
    });
    expect(feed.requests).toHaveLength(1);

    const key = feedKey(keys, "drop");
    expect(key).toBe(`${keys.prefix}:v1:feed:ip-reputation:drop`);
    expect(await redis.hmget(key, "url", "body", "entries")).toEqual([
      feed.url,
      "# drop\n192.0.2.0/24\n198.51.100.7\n",
      "2",
    ]);
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(170_000);
    expect(ttl).toBeLessThanOrEqual(180_000);

    // A worker that starts later reads the stored copy: no download.
    const third = await startStore(options, context(keys));
    expect(has(third, "192.0.2.200")).toBe(true);
    expect(feed.requests).toHaveLength(1);
  });

  it("refreshes on its schedule, once per period for the cluster, and every worker loads the new copy", async () => {
    const feed = await feedServer({ status: 200, body: "192.0.2.0/24\n", delayMs: 0 });
    const keys = newKeys();
    const options = {
      feeds: [{ name: "drop", url: feed.url }],
      refreshMs: 1_000,
      timeoutMs: 2_000,
      pollMs: 50,
    };
    const stores = [await startStore(options, context(keys)), await startStore(options, context(keys))];
    expect(stores.map((store) => has(store, "192.0.2.1"))).toEqual([true, true]);

    feed.answer.body = "203.0.113.0/24\n";
    await vi.waitFor(
      () =>
        expect(stores.map((store) => [has(store, "192.0.2.1"), has(store, "203.0.113.1")])).toEqual([
          [false, true],
          [false, true],
        ]),
      { timeout: 5_000, interval: 20 },
    );
    const before = feed.requests.length;
    await sleep(2_200);
    // Two workers, about two periods: one download per period, not one per worker.
    expect(feed.requests.length - before).toBeGreaterThanOrEqual(1);
    expect(feed.requests.length - before).toBeLessThanOrEqual(3);
  });

  it.each([
    ["an HTTP error", { status: 503, body: "unavailable" }, "HTTP 503"],
    ["an empty body", { body: "" }, "the download holds no IP address"],
    ["a body of comments only", { body: "# nothing today\n" }, "the download holds no IP address"],
    [
      "a mostly malformed body (an error page)",
      { body: "<html>\n<body>\n192.0.2.1\n</body>\n</html>\n" },
      "the download is mostly malformed (4 of 5 lines)",
    ],
    ["a timeout", { delayMs: 1_000 }, "no complete answer within 300 ms"],
  ])(
    "keeps the last good copy after %s, logs a warning and extends its life",
    async (_label, failure, reason) => {
      const good = "192.0.2.0/24\n";
      const feed = await feedServer({ status: 200, body: good, delayMs: 0 });
      const keys = newKeys();
      const options = {
        feeds: [{ name: "drop", url: feed.url }],
        refreshMs: 60_000,
        timeoutMs: 300,
        pollMs: 50,
        retryBackoffMs: 20,
      };
      const given = context(keys);
      const store = await startStore(options, given);
      expect(has(store, "192.0.2.1")).toBe(true);
      const key = feedKey(keys, "drop");
      await redis.pexpire(key, 10_000);
      await redis.hset(key, "checkedAt", 0); // checked long ago: the next refresh downloads

      Object.assign(feed.answer, failure);
      const queue = new Queue(FEED_QUEUE, { connection: redis, prefix: bullPrefix(keys.prefix) });
      cleanups.push(() => queue.close());
      const job = await queue.add("refresh", { name: "drop" }, { attempts: 1 });
      await vi.waitFor(async () => expect(await job.getState()).toBe("failed"), {
        timeout: 5_000,
        interval: 20,
      });

      expect((await queue.getJob(job.id!))?.failedReason).toContain(reason);
      expect(await redis.hget(key, "body")).toBe(good);
      expect(await redis.pttl(key)).toBeGreaterThan(170_000);
      await sleep(150); // a few polls
      expect(has(store, "192.0.2.1")).toBe(true);
      const warning = given.lines.map((line) => JSON.parse(line)).find((line) => line.level === 40);
      expect(warning).toMatchObject({
        list: "drop",
        url: feed.url,
        msg: "IP blocklist feed refresh failed: keeping the last good copy",
      });
      expect(warning.reason).toContain(reason);
    },
  );

  it("removes the refresh schedule of a feed dropped from the configuration when a worker starts", async () => {
    const drop = await feedServer({ status: 200, body: "192.0.2.0/24\n", delayMs: 0 });
    const extra = await feedServer({ status: 200, body: "198.51.100.0/24\n", delayMs: 0 });
    const keys = newKeys();
    const queue = new Queue(FEED_QUEUE, { connection: redis, prefix: bullPrefix(keys.prefix) });
    cleanups.push(() => queue.close());
    const scheduled = async () => (await queue.getJobSchedulers()).map((scheduler) => scheduler.key).sort();
    const feeds = [
      { name: "drop", url: drop.url },
      { name: "extra", url: extra.url },
    ];

    const before = context(keys);
    await startStore({ feeds, refreshMs: 60_000, timeoutMs: 2_000 }, before);
    expect(await scheduled()).toEqual(["ip-reputation:drop", "ip-reputation:extra"]);

    const after = context(keys);
    await startStore({ feeds: feeds.slice(0, 1), refreshMs: 60_000, timeoutMs: 2_000 }, after);
    expect(await scheduled()).toEqual(["ip-reputation:drop"]);
    expect(after.lines.map((line) => JSON.parse(line)).filter((line) => line.scheduler)).toMatchObject([
      {
        scheduler: "ip-reputation:extra",
        msg: "removed the refresh schedule of a feed no longer configured",
      },
    ]);
  });

  it("asks conditionally once it has an ETag; a 304 keeps the copy and extends it", async () => {
    const feed = await feedServer({ status: 200, body: "192.0.2.0/24\n", delayMs: 0, etag: '"v1"' });
    const keys = newKeys();
    const store = await startStore(
      { feeds: [{ name: "drop", url: feed.url }], refreshMs: 60_000, timeoutMs: 2_000 },
      context(keys),
    );
    const key = feedKey(keys, "drop");
    await redis.pexpire(key, 10_000);
    const queue = new Queue(FEED_QUEUE, { connection: redis, prefix: bullPrefix(keys.prefix) });
    cleanups.push(() => queue.close());
    // Checked a moment ago: fresh, nothing asked.
    const fresh = await queue.add("refresh", { name: "drop" });
    await vi.waitFor(async () => expect(await fresh.getState()).toBe("completed"), {
      timeout: 5_000,
      interval: 20,
    });
    expect((await queue.getJob(fresh.id!))?.returnvalue).toBe("fresh");
    expect(feed.requests).toHaveLength(1);

    await redis.hset(key, "checkedAt", 0); // checked long ago: the next refresh asks
    const job = await queue.add("refresh", { name: "drop" });
    await vi.waitFor(async () => expect(await job.getState()).toBe("completed"), {
      timeout: 5_000,
      interval: 20,
    });

    expect((await queue.getJob(job.id!))?.returnvalue).toBe("not-modified");
    expect(feed.requests.map((request) => request.ifNoneMatch)).toEqual([undefined, '"v1"']);
    expect(await redis.hget(key, "body")).toBe("192.0.2.0/24\n");
    expect(await redis.pttl(key)).toBeGreaterThan(170_000);
    expect(has(store, "192.0.2.1")).toBe(true);
  });
});

describe("ipReputation with a URL feed", () => {
  it("fails its runs retryably until the feed's first download succeeds, then lists it", async () => {
    const feed = await feedServer({ status: 500, body: "", delayMs: 0 });
    const keys = newKeys();
    const settings = ipReputation.settings.parse({
      GATEHOUSE_IP_BLOCKLISTS: `tor=${feed.url}`,
      GATEHOUSE_IP_FEED_TIMEOUT_MS: "200",
      GATEHOUSE_IP_FEED_REFRESH_MINUTES: "1",
    });
    const handler = (await ipReputation.setup(settings)) as IpReputationHandler;
    const given = context(keys);
    const started = await handler.start?.(given);
    cleanups.push(async () => started?.close());
    const signal = new AbortController().signal;
    await expect(handler.run({ ip: "192.0.2.1" }, { signal })).rejects.toMatchObject({
      code: "ip_reputation.feed_not_loaded",
      retryable: true,
    });
    expect(given.lines.join("")).toContain("IP blocklist feed not downloaded yet");

    // The failed first download is retried by BullMQ (after 30 s by default); here, ask again at once.
    feed.answer.status = 200;
    feed.answer.body =
      "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nExitAddress 192.0.2.1 2024-01-01 00:00:00\n";
    const queue = new Queue(FEED_QUEUE, { connection: redis, prefix: bullPrefix(keys.prefix) });
    cleanups.push(() => queue.close());
    const job = await queue.add("refresh", { name: "tor" });
    await vi.waitFor(async () => expect(await job.getState()).toBe("completed"), {
      timeout: 5_000,
      interval: 20,
    });

    expect(await handler.run({ ip: "192.0.2.1" }, { signal })).toMatchObject({
      lists: ["tor"],
      listed: true,
    });
    expect(await handler.run({ ip: "192.0.2.2" }, { signal })).toMatchObject({ lists: [], listed: false });
    expect(handler.blocklists).toEqual([{ name: "tor", url: feed.url, entries: 1, ranges: 1, skipped: 0 }]);
  });
});
