import { randomUUID } from "node:crypto";
import { createRedis, type Redis } from "@gatehouse/redis";
import { cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { describe, expect, inject, it, vi } from "vitest";
import { FactAnnouncements, type FactAnnouncementsOptions } from "./fact-announcements.js";
import { encodeFact } from "./fact-record.js";
import { type CacheKeys, cacheKeys } from "./keys.js";
import { LocalFacts } from "./local-facts.js";

const redisUrl = inject("redisUrl");
const publisher = testRedis();
const cleanups = cleanupsAfterEach();

interface Setup {
  keys: CacheKeys;
  announcements: FactAnnouncements;
  /** Publishes `key\nvalue` and resolves once this process' subscriber has handled it. */
  announce(key: string, value: string): Promise<void>;
  subscriber: Redis;
}

async function setup(options: FactAnnouncementsOptions = {}): Promise<Setup> {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  // Named after its prefix, so a test can find its connection in CLIENT LIST.
  const subscriber = createRedis({ url: redisUrl, name: keys.prefix }, "subscriber");
  const announcements = new FactAnnouncements(subscriber, keys, options);
  cleanups.push(async () => {
    announcements.close();
    await subscriber.quit();
  });
  await announcements.start();
  const announce = async (key: string, value: string) => {
    // Registered after FactAnnouncements' own listener, so it runs after the announcement was handled.
    const handled = new Promise<void>((resolve) => {
      const onMessage = (_channel: string, message: string) => {
        if (message === `${key}\n${value}`) {
          subscriber.off("message", onMessage);
          resolve();
        }
      };
      subscriber.on("message", onMessage);
    });
    expect(await publisher.publish(keys.announceChannel, `${key}\n${value}`)).toBe(1);
    await handled;
  };
  return { keys, announcements, announce, subscriber };
}

describe("FactAnnouncements.wait", () => {
  it("resolves as soon as every key is announced, well before the timeout", async () => {
    const { keys, announcements, announce } = await setup();
    const [a, b] = [keys.fact("e", 1, "a"), keys.fact("e", 1, "b")];
    const started = performance.now();
    const waiting = announcements.wait([a, b], 5_000);
    expect(announcements.waiting).toBe(1);
    await announce(a, "A");
    await announce(b, "B\nwith a newline");
    const found = await waiting;
    expect(announcements.waiting).toBe(0);
    expect(performance.now() - started).toBeLessThan(500);
    expect(Object.fromEntries(found)).toEqual({ [a]: "A", [b]: "B\nwith a newline" });
  });

  it("resolves with what was announced when the timeout passes", async () => {
    const { keys, announcements, announce } = await setup();
    const [a, b] = [keys.fact("e", 1, "a"), keys.fact("e", 1, "b")];
    const started = performance.now();
    const waiting = announcements.wait([a, b], 150);
    await announce(a, "A");
    const found = await waiting;
    expect(announcements.waiting).toBe(0);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(600);
    expect(Object.fromEntries(found)).toEqual({ [a]: "A" });
  });

  it("finds a key announced just before wait() in its recent memory, at once", async () => {
    const { keys, announcements, announce } = await setup();
    const key = keys.fact("e", 1, "early");
    await announce(key, "EARLY");
    const started = performance.now();
    const found = await announcements.wait([key], 5_000);
    expect(performance.now() - started).toBeLessThan(50);
    expect(found.get(key)).toBe("EARLY");
    // Even with no time left to wait.
    expect((await announcements.wait([key], 0)).get(key)).toBe("EARLY");
  });

  it("combines the recent memory with later announcements", async () => {
    const { keys, announcements, announce } = await setup();
    const [a, b] = [keys.fact("e", 1, "a"), keys.fact("e", 1, "b")];
    await announce(a, "A");
    const waiting = announcements.wait([a, b], 5_000);
    await announce(b, "B");
    expect(Object.fromEntries(await waiting)).toEqual({ [a]: "A", [b]: "B" });
  });

  it("forgets announcements older than recentMs", async () => {
    const { keys, announcements, announce } = await setup({ recentMs: 50 });
    const key = keys.fact("e", 1, "old");
    await announce(key, "OLD");
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await announcements.wait([key], 0)).size).toBe(0);
  });

  it("wakes every waiter of one key", async () => {
    const { keys, announcements, announce } = await setup();
    const key = keys.fact("e", 1, "shared");
    const other = keys.fact("e", 1, "other");
    const started = performance.now();
    const waiters = [
      announcements.wait([key], 5_000),
      announcements.wait([key], 5_000),
      announcements.wait([key], 5_000),
    ];
    const partial = announcements.wait([key, other], 200);
    await announce(key, "V");
    const found = await Promise.all(waiters);
    expect(performance.now() - started).toBeLessThan(500);
    for (const map of found) expect(Object.fromEntries(map)).toEqual({ [key]: "V" });
    // A waiter that also needs another key keeps waiting, and keeps what it got.
    expect(Object.fromEntries(await partial)).toEqual({ [key]: "V" });
  });

  it("ignores malformed messages and keeps handling good ones", async () => {
    const { keys, announcements, announce } = await setup();
    const key = keys.fact("e", 1, "k");
    const waiting = announcements.wait([key], 2_000);
    await publisher.publish(keys.announceChannel, key); // no newline: no value
    await publisher.publish(keys.announceChannel, `\n${key}`); // empty key
    await publisher.publish(keys.announceChannel, "");
    await announce(key, "GOOD");
    expect(Object.fromEntries(await waiting)).toEqual({ [key]: "GOOD" });
  });

  it("does not see another prefix's announcements", async () => {
    const first = await setup();
    const second = await setup();
    const key = first.keys.fact("e", 1, "k");
    const waiting = second.announcements.wait([key], 150);
    await first.announce(key, "V");
    expect((await waiting).size).toBe(0);
  });

  it("close() releases every waiter at once with what it has", async () => {
    const { keys, announcements, announce } = await setup();
    const [a, b] = [keys.fact("e", 1, "a"), keys.fact("e", 1, "b")];
    const started = performance.now();
    const both = announcements.wait([a, b], 10_000);
    const onlyB = announcements.wait([b], 10_000);
    await announce(a, "A");
    announcements.close();
    expect(Object.fromEntries(await both)).toEqual({ [a]: "A" });
    expect((await onlyB).size).toBe(0);
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe("FactAnnouncements.subscribed", () => {
  it("is false until SUBSCRIBE is answered, false once the connection drops, true again after it resubscribes", async () => {
    const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
    const subscriber = createRedis({ url: redisUrl, name: keys.prefix }, "subscriber");
    const announcements = new FactAnnouncements(subscriber, keys);
    cleanups.push(async () => {
      announcements.close();
      await subscriber.quit();
    });
    expect(announcements.subscribed).toBe(false);
    await announcements.start();
    expect(announcements.subscribed).toBe(true);

    const closed = new Promise((resolve) => subscriber.once("close", resolve));
    await publisher.client("KILL", "ID", await pubsubClientId(keys));
    await closed;
    expect(announcements.subscribed).toBe(false);
    await vi.waitFor(() => expect(announcements.subscribed).toBe(true), { timeout: 5_000, interval: 20 });
  });
});

/** The id of this test's subscriber connection (named after its prefix), for CLIENT KILL. */
async function pubsubClientId(keys: CacheKeys): Promise<string> {
  const clients = (await publisher.call("CLIENT", "LIST", "TYPE", "pubsub")) as string;
  const line = clients.split("\n").find((entry) => entry.includes(` name=gatehouse:${keys.prefix}:`));
  const id = /(?:^| )id=(\d+) /.exec(line ?? "")?.[1];
  expect(id).toBeDefined();
  return id as string;
}

describe("FactAnnouncements with local copies", () => {
  it("replaces the copy of each announced fact", async () => {
    const local = new LocalFacts({ maxAgeMs: 60_000 });
    const { keys, announce } = await setup({ local });
    const key = keys.fact("e", 1, "a");
    await announce(key, encodeFact("first", 60));
    expect(local.get(key)?.fact).toBe("first");
    await announce(key, encodeFact("second", 60));
    expect(local.get(key)?.fact).toBe("second");
  });

  it("forgets every copy when its connection drops, and keeps copies again once subscribed anew", async () => {
    const local = new LocalFacts({ maxAgeMs: 60_000 });
    const { keys, announce, subscriber } = await setup({ local });
    const key = keys.fact("e", 1, "a");
    await announce(key, encodeFact("before", 60));
    expect(local.get(key)?.fact).toBe("before");

    // Anything published while it is away is lost to it: no copy may be trusted from then on.
    const closed = new Promise((resolve) => subscriber.once("close", resolve));
    await publisher.client("KILL", "ID", await pubsubClientId(keys));
    await closed;
    expect(local.get(key)).toBeUndefined();
    expect(local.size).toBe(0);

    // ioredis reconnects and resubscribes; announcements are heard and kept again.
    await vi.waitFor(
      async () => {
        await announce(key, encodeFact("after", 60));
        expect(local.get(key)?.fact).toBe("after");
      },
      { timeout: 5_000, interval: 50 },
    );
  });
});
