import { cacheKeys, counterKeys, DecisionCache, writeFact } from "@gatehouse/decision-cache";
import { createRedis, type Redis, whenReady } from "@gatehouse/redis";
import { capturedLog, cleanupsAfterEach } from "@gatehouse/testing";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { testEnv as cliEnv, runCliCollecting } from "../apps/cli/src/testing/run-cli.js";
import { buildApp } from "../apps/ingress/src/app.js";
import { readAudit } from "./support/audit-records.js";
import { FAIL_CLOSED_SIGNUP_POLICY } from "./support/built-apps.js";
import { body, send, testEnv, testIngress } from "./support/ingress-harness.js";
import { startRedisSentinels } from "./support/redis-sentinel.js";
import { startRedis } from "./support/redis-server.js";
import { startTcpProxy } from "./support/tcp-proxy.js";

// Every test here breaks its own Redis; the shared one is never touched.

const unhandled: unknown[] = [];
const collect = (reason: unknown) => unhandled.push(reason);
beforeAll(() => {
  process.on("unhandledRejection", collect);
});
afterAll(() => {
  process.off("unhandledRejection", collect);
});

// After each test its cleanups run (newest first, whatever the test did), then the check of unhandled
// rejections: vitest runs after-hooks in the reverse order of their registration.
afterEach(() => {
  expect(unhandled).toEqual([]);
});
const cleanups = cleanupsAfterEach();

const POLICY = FAIL_CLOSED_SIGNUP_POLICY;

async function setup(overrides: Record<string, string>) {
  const server = await startRedis();
  cleanups.push(() => server.stop());
  const env = testEnv(server.url, overrides);
  const app = await testIngress(env, POLICY);
  cleanups.push(() => app.close());
  const client = createRedis({ url: server.url }, "bullmq");
  client.on("error", () => {}); // it sees the outage too
  cleanups.push(() => client.quit());
  return { server, app, client, keys: cacheKeys(env.GATEHOUSE_KEY_PREFIX) };
}

const readyz = async (app: FastifyInstance) => (await app.inject("/readyz")).statusCode;

/** A PRE_SIGNUP for `domain` from an IP no test writes, so only the email-domain fact matters. */
const signup = (app: FastifyInstance, domain: string) =>
  send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: `someone@${domain}` }));

/** An email-domain fact for `domain`, disposable: the policy denies it with its message. */
const disposable = (domain: string) => ({
  domain,
  registrable: domain,
  disposable: true,
  freeMail: false,
  mx: "present",
});

async function writeDomainFact(client: Redis, keys: ReturnType<typeof cacheKeys>, domain: string) {
  const fact = { domain, registrable: domain, disposable: false, freeMail: false, mx: "present" };
  await writeFact(client, keys, keys.fact("email-domain", 1, domain), fact, 60);
}

/**
 * A miss is woken by the announcement of a fact written while it waits (so the subscription is alive):
 * DENY with the rule's message, where a lost announcement would give ALLOW after the wait.
 */
async function expectAnnouncementsArrive(
  app: FastifyInstance,
  client: Redis,
  keys: ReturnType<typeof cacheKeys>,
  domain: string,
) {
  const fact = disposable(domain);
  const pending = signup(app, domain);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await writeFact(client, keys, keys.fact("email-domain", 1, domain), fact, 60);
  const sent = await pending;
  expect(sent.answer).toEqual({ decision: "DENY", error: { message: "No disposable addresses." } });
  expect(sent.ms).toBeLessThan(250);
}

/** The answer comes from the policy while Redis is up: the fact says ALLOW, the fallback would say DENY. */
async function expectPolicyAnswers(
  app: FastifyInstance,
  client: Redis,
  keys: ReturnType<typeof cacheKeys>,
  domain: string,
) {
  await writeDomainFact(client, keys, domain);
  const sent = await signup(app, domain);
  expect(sent.status).toBe(200);
  expect(sent.answer).toEqual({ decision: "ALLOW" });
}

/** Back after an outage, without a rebuild: ready, reading facts (`domain`'s), and subscribed again. */
async function expectRecovered(
  app: FastifyInstance,
  client: Redis,
  keys: ReturnType<typeof cacheKeys>,
  domain: string,
) {
  await vi.waitFor(async () => expect(await readyz(app)).toBe(200), { timeout: 5_000, interval: 100 });
  await vi.waitFor(() => expectPolicyAnswers(app, client, keys, domain), { timeout: 3_000, interval: 100 });
  await vi.waitFor(() => expectAnnouncementsArrive(app, client, keys, `announced-${Date.now()}.test`), {
    timeout: 3_000,
    interval: 100,
  });
}

async function metric(app: FastifyInstance, pattern: RegExp): Promise<number> {
  const match = pattern.exec((await app.inject("/metrics")).body);
  return match ? Number(match[1]) : 0;
}

/**
 * Two Redis servers and the one address the ingress is given, leading to the first (a managed Redis'
 * endpoint, a DNS name): the ingress (every request reads Redis), ready, and a client to each server.
 */
async function twoRedisBehindOneAddress(options: { args?: string[] } = {}) {
  const [first, second] = [await startRedis(options), await startRedis(options)];
  cleanups.push(
    () => first.stop(),
    () => second.stop(),
  );
  const endpoint = await startTcpProxy(first.port);
  cleanups.push(() => endpoint.close());
  const env = testEnv(`redis://127.0.0.1:${endpoint.port}`, { GATEHOUSE_LOCAL_FACTS_MS: "0" });
  const app = await testIngress(env, POLICY);
  cleanups.push(() => app.close());
  const clients = [first, second].map((server) => createRedis({ url: server.url }, "bullmq")) as [
    Redis,
    Redis,
  ];
  cleanups.push(...clients.map((client) => () => client.quit()));
  await vi.waitFor(async () => expect(await readyz(app)).toBe(200), { timeout: 5_000, interval: 50 });
  return { first, second, endpoint, app, keys: cacheKeys(env.GATEHOUSE_KEY_PREFIX), clients };
}

describe("Redis killed mid-run", () => {
  it("answers with the fallback before the deadline, says 503 on /readyz, and recovers after a restart", async () => {
    const deadlineMs = 500;
    const { server, app, client, keys } = await setup({ GATEHOUSE_DEADLINE_MS: String(deadlineMs) });
    expect(await readyz(app)).toBe(200);
    await expectPolicyAnswers(app, client, keys, "before.test");

    await server.kill();
    // Whatever state the clients are in (just disconnected, reconnecting), every answer is the fallback.
    for (let i = 0; i < 5; i++) {
      const sent = await signup(app, `during-${i}.test`);
      expect(sent.status).toBe(200);
      expect(sent.answer).toEqual({ decision: "DENY" });
      expect(sent.ms).toBeLessThan(deadlineMs + 100);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await readyz(app)).toBe(503);
    expect(
      await metric(app, /gatehouse_decisions_total\{[^}]*decision="DENY",reason="cache.unavailable"\} (\d+)/),
    ).toBe(5);

    await server.restart();
    // The same app reconnects by itself, and a miss is queued for the worker again.
    await expectRecovered(app, client, keys, "after.test");
    await vi.waitFor(async () =>
      expect(
        await metric(app, /gatehouse_enqueues_total\{enrichment="email-domain",result="added"\} (\d+)/),
      ).toBeGreaterThan(0),
    );
  });
});

describe("a failover that demotes the primary under the ingress (a managed Redis' endpoint moving)", () => {
  it("reconnects when its Redis has become a read-only replica, and answers from the new primary", async () => {
    // A replica's first copy starts at once (Redis 7 waits 5 s by default for more replicas to share it).
    const { first, second, endpoint, app, keys, clients } = await twoRedisBehindOneAddress({
      args: ["--repl-diskless-sync-delay", "0"],
    });
    const [primary, promoted] = clients;
    await expectPolicyAnswers(app, primary, keys, "before.test");

    // The failover: the second copies the first and takes over; the first becomes its replica, read-only,
    // with the ingress' connections still open to it; the endpoint now leads to the second.
    await promoted.replicaof("127.0.0.1", first.port);
    await vi.waitFor(
      async () => expect(await promoted.info("replication")).toMatch(/master_link_status:up/),
      {
        timeout: 5_000,
      },
    );
    await promoted.replicaof("NO", "ONE");
    await primary.replicaof("127.0.0.1", second.port);
    endpoint.retarget(second.port);
    await writeDomainFact(promoted, keys, "after.test");

    // A write on a replica fails with READONLY: the client reconnects (to the new primary) instead of
    // failing every request on a connection that would stay open to the old one.
    await vi.waitFor(
      async () => expect((await signup(app, "after.test")).answer).toEqual({ decision: "ALLOW" }),
      { timeout: 5_000, interval: 100 },
    );
    // The audit records written after the reply reach the new primary too, the last one that ALLOW.
    await vi.waitFor(
      async () =>
        expect((await readAudit(promoted, keys.auditStream)).at(-1)).toMatchObject({
          decision: "ALLOW",
          reason: "policy.default",
        }),
      { timeout: 5_000, interval: 100 },
    );
  });
});

describe("a Redis that vanishes without closing its connections (a black hole)", () => {
  it("gives up on the silent connections and reaches the Redis its address now leads to", async () => {
    const { second, endpoint, app, keys, clients } = await twoRedisBehindOneAddress();
    const [before, after] = clients;
    await expectPolicyAnswers(app, before, keys, "before.test");

    // The first Redis' host is gone without a word; its address now leads to the second.
    await writeDomainFact(after, keys, "after.test");
    endpoint.blackHole();
    endpoint.retarget(second.port);
    const sent = await signup(app, "after.test");
    expect(sent.answer).toEqual({ decision: "DENY" });
    // Each command times out on the silent connection; the client destroys it after a few seconds of silence
    // and reconnects (TCP alone would take up to ~15 minutes to give up).
    await vi.waitFor(
      async () => expect((await signup(app, "after.test")).answer).toEqual({ decision: "ALLOW" }),
      { timeout: 10_000, interval: 200 },
    );
    // The subscriber's silent connection too (its PING unanswered): a waiting miss is woken again by the
    // announcement of a fact written on the second.
    await vi.waitFor(() => expectAnnouncementsArrive(app, after, keys, `announced-${Date.now()}.test`), {
      timeout: 10_000,
      interval: 200,
    });
  });
});

describe("Redis behind Sentinels (REDIS_SENTINELS)", () => {
  it("answers from the master the Sentinels name, and once it dies, from the replica they promote", async () => {
    const group = await startRedisSentinels();
    cleanups.push(() => group.stop());
    const url = `redis://${group.name}`;
    const env = testEnv(url, { REDIS_SENTINELS: group.sentinels.join(","), GATEHOUSE_LOCAL_FACTS_MS: "0" });
    const app = await testIngress(env, POLICY);
    cleanups.push(() => app.close());
    const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
    const client = createRedis({ url, sentinels: group.sentinels }, "bullmq");
    client.on("error", () => {}); // it sees the master die too
    cleanups.push(() => client.quit());
    await vi.waitFor(async () => expect(await readyz(app)).toBe(200), { timeout: 5_000, interval: 50 });
    // ioredis' failover detector's own connections to the Sentinels have an error listener (create-redis.ts
    // reaches them through fields not in its types: an upgrade that moves them fails here).
    await whenReady(client);
    const detector = (
      client as unknown as { connector: { failoverDetector?: { sentinels: { client: Redis }[] } } }
    ).connector.failoverDetector;
    expect(detector?.sentinels.map((sentinel) => sentinel.client.listenerCount("error"))).toEqual([1]);
    await expectPolicyAnswers(app, client, keys, "before.test");
    // The fact is on the replica too before the master goes.
    expect(await client.wait(1, 2_000)).toBe(1);

    await group.master.kill();
    const killedAt = Date.now();
    // Declared down after 1 s, the replica promoted a second or so later: the ingress asks the Sentinels
    // again and answers from it, without a restart.
    await vi.waitFor(
      async () => expect((await signup(app, "before.test")).answer).toEqual({ decision: "ALLOW" }),
      { timeout: 15_000, interval: 200 },
    );
    const promoted = createRedis({ url: group.replica.url }, "bullmq");
    cleanups.push(() => promoted.quit());
    expect(await promoted.role()).toContain("master");
    await vi.waitFor(
      async () =>
        expect((await readAudit(promoted, keys.auditStream)).at(-1)).toMatchObject({
          decision: "ALLOW",
          reason: "policy.default",
          at: expect.toSatisfy((at: number) => at > killedAt),
        }),
      { timeout: 5_000, interval: 100 },
    );
    // The CLI finds the master the same way.
    const listed = await runCliCollecting(
      ["decisions", "--decision", "ALLOW", "--limit", "1", "--json"],
      cliEnv({ redisUrl: url, redisSentinels: [...group.sentinels], keyPrefix: keys.prefix }),
    );
    expect(listed.stderr).toBe("");
    expect(JSON.parse(listed.stdout)).toMatchObject({
      decisions: [{ decision: "ALLOW", reason: "policy.default" }],
    });
  });
});

describe("a full Redis (maxmemory reached, noeviction)", () => {
  it("the read takes no write but still reads: the id unclaimed, counts as they would be, facts as held", async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const redis = createRedis({ url: server.url }, "bullmq");
    cleanups.push(() => redis.quit());
    const keys = cacheKeys("full");
    const cache = new DecisionCache(redis, keys);
    const fact = keys.fact("email-domain", 1, "held.test");
    const counter = counterKeys(keys, "PRE_SIGNUP:ip:60", "198.51.100.7", 60, Date.now());
    await redis.set(fact, "held");
    await redis.set(counter.current, "4");

    await redis.config("SET", "maxmemory", "1");
    const read = await cache.read("ic_full", [fact], [counter]);
    expect(read).toEqual({ kind: "fresh", values: ["held"], counts: [[5, 0]], claimed: false });
    await redis.config("SET", "maxmemory", "0");
    expect(await redis.exists(keys.idempotency("ic_full"))).toBe(0);
    expect(await redis.get(counter.current)).toBe("4");
    // Room again: claimed and counted as always.
    expect(await cache.read("ic_room", [fact], [counter])).toEqual({
      kind: "fresh",
      values: ["held"],
      counts: [[5, 0]],
      claimed: true,
    });
  });

  it("the ingress answers from the facts Redis holds, not with its fallback, and says Redis is full", async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const env = testEnv(server.url, { GATEHOUSE_LOCAL_FACTS_MS: "0" });
    const { log, lines } = capturedLog("ingress", "warn");
    const app = await buildApp({ env, policy: POLICY, log });
    cleanups.push(() => app.close());
    const client = createRedis({ url: server.url }, "bullmq");
    cleanups.push(() => client.quit());
    const keys = cacheKeys(env.GATEHOUSE_KEY_PREFIX);
    await writeFact(client, keys, keys.fact("email-domain", 1, "trash.test"), disposable("trash.test"), 60);
    await vi.waitFor(async () => expect(await readyz(app)).toBe(200), { timeout: 5_000, interval: 50 });

    await client.config("SET", "maxmemory", "1");
    cleanups.push(() => client.config("SET", "maxmemory", "0"));
    const sent = await signup(app, "trash.test");
    expect(sent.answer).toEqual({ decision: "DENY", error: { message: "No disposable addresses." } });
    expect(lines.join("\n")).toContain("Redis is full (maxmemory)");
  });
});

describe("Redis paused (SIGSTOP)", () => {
  it("answers with the fallback after the command timeout, says 503 on /readyz, and resumes", async () => {
    const deadlineMs = 400;
    const { server, app, client, keys } = await setup({
      GATEHOUSE_DEADLINE_MS: String(deadlineMs),
      GATEHOUSE_REDIS_TIMEOUT_MS: "100",
    });
    await expectPolicyAnswers(app, client, keys, "before.test");

    server.pause();
    let resumed = false;
    cleanups.push(async () => {
      if (!resumed) server.resume();
    });
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => signup(app, `during-${i}.test`)));
    for (const sent of answers) {
      expect(sent.status).toBe(200);
      expect(sent.answer).toEqual({ decision: "DENY" });
      // Failed by the 100 ms command timeout, well before the deadline.
      expect(sent.ms).toBeGreaterThanOrEqual(90);
      expect(sent.ms).toBeLessThan(deadlineMs);
    }
    const started = performance.now();
    expect(await readyz(app)).toBe(503);
    expect(performance.now() - started).toBeLessThan(600); // the ping is bounded too

    server.resume();
    resumed = true;
    await expectRecovered(app, client, keys, "after.test");
  });
});

describe("Redis down when the ingress starts", () => {
  it("starts within seconds, answers with the fallback, says 503 on /readyz, and connects once Redis is up", async () => {
    const deadlineMs = 500;
    const server = await startRedis();
    cleanups.push(() => server.stop());
    await server.kill();
    const env = testEnv(server.url, {
      GATEHOUSE_DEADLINE_MS: String(deadlineMs),
      // The admin API's connection waits too: within the same bound.
      GATEHOUSE_ADMIN_TOKEN: "a".repeat(32),
    });
    const booting = Date.now();
    const app = await testIngress(env, POLICY);
    cleanups.push(() => app.close());
    // The start gives Redis 3 s in all; Fastify's own limit for a hook is 10 s, after which it throws.
    expect(Date.now() - booting).toBeLessThan(4_500);
    expect(await readyz(app)).toBe(503);
    const sent = await signup(app, "at-boot.test");
    expect(sent.status).toBe(200);
    expect(sent.answer).toEqual({ decision: "DENY" });
    expect(sent.ms).toBeLessThan(deadlineMs + 100);

    await server.restart();
    const client = createRedis({ url: server.url }, "bullmq");
    cleanups.push(() => client.quit());
    // Connected and subscribed once Redis came: a waiting miss is woken by a worker's announcement.
    await expectRecovered(app, client, cacheKeys(env.GATEHOUSE_KEY_PREFIX), "after-boot.test");
  });
});

describe("closing during an outage", () => {
  it.each([
    ["Redis killed after the start", "killed", 1_000],
    ["Redis down since before the start", "down at start", 1_000],
    // Connections open, nothing answered (a hung Redis, a black-holed network): QUIT is given 1 s.
    ["Redis paused (SIGSTOP) after the start", "paused", 2_000],
  ] as const)(
    "ends in time and leaves no client that reconnects once Redis is back: %s",
    async (_case, fault, withinMs) => {
      const server = await startRedis();
      cleanups.push(() => server.stop());
      if (fault === "down at start") await server.kill();
      const app = await testIngress(testEnv(server.url, {}), POLICY);
      if (fault === "killed") await server.kill();
      if (fault === "paused") server.pause();
      const started = performance.now();
      await app.close();
      expect(performance.now() - started).toBeLessThan(withinMs); // nothing was buffered to flush
      if (fault === "paused") server.resume();
      else await server.restart();
      const client = createRedis({ url: server.url }, "bullmq");
      cleanups.push(() => client.quit());
      // The clients of a live app reconnect within a second (retry delays are capped at 1 s); wait longer.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const clients = String(await client.client("LIST"))
        .split("\n")
        .map((line) => / name=(\S*)/.exec(line)?.[1])
        .filter((name) => name?.startsWith("gatehouse:ingress"));
      expect(clients).toEqual([]);
    },
  );
});
