import { randomUUID } from "node:crypto";
import { cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { cacheKeys } from "./keys.js";
import { announcePresence, WorkerPresence } from "./worker-presence.js";

const redis = testRedis();
const cleanups = cleanupsAfterEach();
const EVERY_MS = 50;

// Beats and looks are skipped while disconnected.
beforeAll(async () => {
  await redis.ping();
});

function setup() {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  const presence = new WorkerPresence(redis, keys, ["email-domain", "ip-reputation"], EVERY_MS);
  cleanups.push(async () => presence.close());
  const announce = (names: string[]) => {
    const beats = announcePresence(redis, keys, () => names, EVERY_MS);
    cleanups.push(async () => beats.stop());
    return beats;
  };
  return { keys, presence, announce };
}

describe("worker presence", () => {
  it("counts an enrichment no worker was ever seen for as present", async () => {
    const { presence } = setup();
    await presence.refresh();
    expect(presence.gone("email-domain")).toBe(false);
    expect(presence.gone("ip-reputation")).toBe(false);
  });

  it("says an enrichment's workers are gone once their beats stop, and back once one beats again", async () => {
    const { keys, presence, announce } = setup();
    const beats = announce(["email-domain"]);
    expect(await redis.pttl(keys.workerPresence("email-domain"))).toBeGreaterThan(0);
    await presence.refresh();
    beats.stop();
    // Three beats' TTL, then the next look.
    await vi.waitFor(() => expect(presence.gone("email-domain")).toBe(true), { timeout: 2_000 });
    expect(presence.gone("ip-reputation")).toBe(false);
    announce(["email-domain"]);
    await vi.waitFor(() => expect(presence.gone("email-domain")).toBe(false), { timeout: 2_000 });
  });

  it("says only what the worker runs at each beat: an enrichment whose worker stopped taking jobs goes", async () => {
    const { presence, announce } = setup();
    const running = ["email-domain", "ip-reputation"];
    announce(running);
    await presence.refresh();
    running.pop(); // its worker stopped (its handler failed to start, its loop ended)
    await vi.waitFor(() => expect(presence.gone("ip-reputation")).toBe(true), { timeout: 2_000 });
    expect(presence.gone("email-domain")).toBe(false);
  });

  it("stays present while one of two workers of an enrichment still beats", async () => {
    const { presence, announce } = setup();
    const first = announce(["email-domain"]);
    announce(["email-domain", "ip-reputation"]);
    await presence.refresh();
    first.stop();
    await new Promise((resolve) => setTimeout(resolve, 6 * EVERY_MS));
    expect(presence.gone("email-domain")).toBe(false);
    expect(presence.gone("ip-reputation")).toBe(false);
  });

  it("counts workers gone that this process never saw, when the deployment ran them", async () => {
    const { keys, presence, announce } = setup();
    announce(["email-domain"]).stop(); // a worker that beat once, before this ingress started
    expect(await redis.pttl(keys.workerRan("email-domain"))).toBeGreaterThan(6 * 24 * 3_600_000);
    await redis.del(keys.workerPresence("email-domain")); // its beats' key ended
    await presence.refresh();
    expect(presence.gone("email-domain")).toBe(false);
    await presence.refresh();
    expect(presence.gone("email-domain")).toBe(true);
    expect(presence.gone("ip-reputation")).toBe(false); // never ran here
  });

  it("takes two looks in a row without a key: one alone may follow a Redis that lost its keys", async () => {
    const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
    const beats = announcePresence(redis, keys, () => ["email-domain"], 60_000);
    const presence = new WorkerPresence(redis, keys, ["email-domain"], 60_000);
    cleanups.push(async () => {
      beats.stop();
      presence.close();
    });
    await presence.refresh(); // seen
    await redis.del(keys.workerPresence("email-domain")); // a restart without the key
    await presence.refresh();
    expect(presence.gone("email-domain")).toBe(false);
    await presence.refresh();
    expect(presence.gone("email-domain")).toBe(true);
  });

  it("changes nothing when Redis cannot be read", async () => {
    const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
    const beats = announcePresence(redis, keys, () => ["email-domain"], EVERY_MS);
    const client = redis.duplicate({ enableOfflineQueue: false });
    const presence = new WorkerPresence(client, keys, ["email-domain"], 60_000);
    cleanups.push(async () => {
      beats.stop();
      presence.close();
      client.disconnect();
    });
    if (client.status !== "ready") await new Promise((resolve) => client.once("ready", resolve));
    await presence.refresh(); // seen
    beats.stop();
    await redis.del(keys.workerPresence("email-domain"));
    client.disconnect();
    await presence.refresh();
    expect(presence.gone("email-domain")).toBe(false);
  });
});
