import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheKeys, decodeFact } from "@gatehouse/decision-cache";
import {
  bullPrefix,
  defineEnrichment,
  Enqueuer,
  factKey,
  queueName,
  startEnrichmentWorker,
} from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { DEFAULT_POLICY, type Policy, policySchema } from "@gatehouse/policy";
import { createRedis, type Redis, whenReady } from "@gatehouse/redis";
import { createLogger } from "@gatehouse/telemetry";
import { capturedLog, cleanupsAfterEach } from "@gatehouse/testing";
import { parseWorkerEnv } from "@gatehouse/worker/src/env.js";
import { type RunningWorkers, startWorkers } from "@gatehouse/worker/src/start-workers.js";
import { Queue, type Worker } from "bullmq";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { z } from "zod";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { readAudit } from "./support/audit-records.js";
import { body, send, testEnv, testIngress } from "./support/ingress-harness.js";
import { startRedis } from "./support/redis-server.js";
import { startTcpProxy } from "./support/tcp-proxy.js";

const redisUrl = inject("redisUrl");
const log = createLogger({ name: "worker-test", level: "silent" });
const suffix = randomUUID().slice(0, 8);
/** A domain never seen before, with MX records on the stub DNS server. */
const plainDomain = `p${suffix}.example`;
/** A domain whose MX lookup gets no answer: its job takes GATEHOUSE_MX_TIMEOUT_MS. */
const slowDomain = `slow${suffix}.example`;
const MX_TIMEOUT_MS = 300;

let redis: Redis;
let dns: StubDnsServer;
beforeAll(async () => {
  redis = createRedis({ url: redisUrl }, "bullmq");
  dns = await startStubDnsServer({
    [plainDomain]: { mx: [[10, `mx.${plainDomain}`]] },
    [slowDomain]: "silent",
  });
});
afterAll(async () => {
  await dns?.close();
  await redis?.quit();
});

// Cleanups run in reverse order of registration, whatever the test did.
const cleanups = cleanupsAfterEach();

const newPrefix = () => `t${randomUUID().slice(0, 8)}`;

async function ingress(prefix: string, policy: Policy = DEFAULT_POLICY): Promise<FastifyInstance> {
  const app = await testIngress(testEnv(redisUrl, { GATEHOUSE_KEY_PREFIX: prefix }), policy);
  cleanups.push(() => app.close());
  return app;
}

async function workers(
  prefix: string,
  settings: Record<string, string> = {},
  logger = log,
): Promise<RunningWorkers> {
  const source = {
    REDIS_URL: redisUrl,
    GATEHOUSE_KEY_PREFIX: prefix,
    LOG_LEVEL: "silent",
    GATEHOUSE_ENRICHMENTS: "email-domain,ip-reputation",
    GATEHOUSE_WARM: "false",
    GATEHOUSE_DNS_SERVERS: dns.address,
    GATEHOUSE_MX_TIMEOUT_MS: String(MX_TIMEOUT_MS),
    ...settings,
  };
  const running = await startWorkers(parseWorkerEnv(source), logger);
  cleanups.push(() => running.close());
  return running;
}

function queueOf(prefix: string, name: string): Queue {
  const queue = new Queue(`enrich.${name}`, { connection: redis, prefix: bullPrefix(prefix) });
  cleanups.push(() => queue.close());
  return queue;
}

async function metric(app: FastifyInstance, series: string): Promise<number> {
  const text = (await app.inject("/metrics")).body;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const lookups = (result: "hit" | "memory" | "miss") =>
  `gatehouse_cache_lookups_total{enrichment="email-domain",result="${result}"}`;

const signup = (app: FastifyInstance, email: string) =>
  send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: email }));

describe("the worker fills misses", () => {
  it("answers a never-seen domain from the worker's announcement, then from the cache", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    await workers(prefix);
    const app = await ingress(prefix);
    const disposableDomain = `x${suffix}.mailinator.com`;

    // Both facts (email domain and IP) are missing; the worker computes them while the request waits.
    const denied = await signup(app, `a@${disposableDomain}`);
    expect(denied.status).toBe(200);
    expect(denied.answer.decision).toBe("DENY");
    expect(denied.answer.error?.message).toMatch(/disposable/);
    // Well under the 1 s wait budget: the answer came on the announcement, not on the timeout.
    expect(denied.ms).toBeLessThan(900);

    const allowed = await signup(app, `someone@${plainDomain}`);
    expect(allowed.answer).toEqual({ decision: "ALLOW" });
    expect(allowed.ms).toBeLessThan(900);

    const disposableFact = decodeFact(
      (await redis.get(keys.fact("email-domain", 1, disposableDomain))) ?? "",
    )?.fact;
    expect(disposableFact).toEqual({
      domain: disposableDomain,
      registrable: "mailinator.com",
      disposable: true,
      freeMail: false,
      mx: "absent", // NXDOMAIN from the stub
    });
    const plainFact = decodeFact((await redis.get(keys.fact("email-domain", 1, plainDomain))) ?? "")?.fact;
    expect(plainFact).toMatchObject({ domain: plainDomain, disposable: false, mx: "present" });

    // The fact is cached now, and the announcement left a copy in this ingress' memory: the same domain
    // again is answered from it, without a Redis read.
    expect(await metric(app, lookups("memory"))).toBe(0);
    const again = await signup(app, `other@${plainDomain}`);
    expect(again.answer).toEqual({ decision: "ALLOW" });
    expect(await metric(app, lookups("memory"))).toBe(1);
    expect(await metric(app, lookups("hit"))).toBe(0);
    expect(await metric(app, lookups("miss"))).toBe(2);

    await app.close();
    const records = await readAudit(redis, keys.auditStream);
    expect(records.map((r) => [r.decision, r.reason, r.cache])).toEqual([
      ["DENY", "email.disposable", "waited"],
      ["ALLOW", "policy.default", "waited"],
      ["ALLOW", "policy.default", "memory"],
    ]);
    const counts = await queueOf(prefix, "email-domain").getJobCounts("completed", "failed");
    expect(counts).toEqual({ completed: 2, failed: 0 });
  });

  it("warms the cache with the disposable list at start: a hit, DENY, and no job", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    await workers(prefix, { GATEHOUSE_ENRICHMENTS: "email-domain", GATEHOUSE_WARM: "true" });
    expect(await redis.exists(keys.fact("email-domain", 1, "mailinator.com"))).toBe(1);

    const emailOnly = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [DEFAULT_POLICY.triggers.PRE_SIGNUP?.rules[0]],
          onMiss: { waitMs: 1000, afterWait: "evaluate" },
        },
      },
    });
    const app = await ingress(prefix, emailOnly);
    const sent = await signup(app, "someone@mailinator.com");
    expect(sent.answer.decision).toBe("DENY");
    expect(sent.answer.error?.message).toMatch(/disposable/);
    expect(await metric(app, lookups("hit"))).toBe(1);
    expect(await metric(app, lookups("miss"))).toBe(0);

    await sleep(100); // an enqueue would happen right after the read
    const counts = await queueOf(prefix, "email-domain").getJobCounts(
      "wait",
      "active",
      "delayed",
      "completed",
      "failed",
    );
    expect(counts).toEqual({ wait: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
  });

  it("says it runs, and once its workers are gone the ingress answers a miss without waiting for them", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    const running = await workers(prefix);
    for (const name of ["email-domain", "ip-reputation"]) {
      expect(await redis.pttl(keys.workerPresence(name))).toBeGreaterThan(0);
      expect(await redis.pttl(keys.workerRan(name))).toBeGreaterThan(0);
    }
    const app = await ingress(prefix); // sees the workers at once
    const waited = await signup(app, `someone@${plainDomain}`);
    expect(waited.answer).toEqual({ decision: "ALLOW" });

    // The workers stop, and their word ends (three beats later; deleted here to save the test the time).
    await running.close();
    await redis.del(keys.workerPresence("email-domain"), keys.workerPresence("ip-reputation"));
    // An ingress started now never sees a worker; the deployment's longer-lived key says they ran.
    const later = await ingress(prefix);
    await sleep(5_000); // the ingress looks every 2 s, and needs two looks without a key
    for (const [server, domain] of [
      [app, `new-${plainDomain}`],
      [later, `newer-${plainDomain}`],
    ] as const) {
      const unwaited = await signup(server, `someone@${domain}`);
      expect(unwaited.answer).toEqual({ decision: "ALLOW" });
      expect(unwaited.ms).toBeLessThan(300); // the policy would wait up to 1 s for a worker
    }
    // The jobs are queued all the same, for when a worker is back.
    await vi.waitFor(async () =>
      expect(await queueOf(prefix, "email-domain").getJobCounts("wait")).toEqual({ wait: 2 }),
    );
    await Promise.all([app.close(), later.close()]);
    const records = await readAudit(redis, keys.auditStream);
    expect(records.map((r) => [r.reason, r.cache])).toEqual([
      ["policy.default", "waited"],
      ["policy.default", "miss"],
      ["policy.default", "miss"],
    ]);
  });
});

describe("failures and shutdown", () => {
  const runs: string[] = [];
  let started: () => void = () => {};
  let finished = 0;

  // A test enrichment: `fail-*` throws, `hang-*` outlives its timeout, `slow-*` takes 300 ms.
  const flaky = defineEnrichment({
    name: "test-flaky",
    version: 1,
    input: z.object({ id: z.string() }),
    fact: z.object({ id: z.string(), ok: z.boolean() }),
    fromRequest: () => undefined,
    subject: (input) => input.id,
    ttlSeconds: 60,
    timeoutMs: 100,
    retry: { attempts: 2, backoffMs: 20 },
    concurrency: 2,
    settings: z.object({}),
    setup: () => ({
      async run({ id }, { signal }) {
        runs.push(id);
        started();
        if (id.startsWith("fail")) throw new Error("provider unavailable");
        if (id.startsWith("hang")) await sleep(5_000, undefined, { signal });
        if (id.startsWith("slow")) await sleep(300); // deliberately deaf to the signal: close must not abort it
        finished = Date.now();
        return { id, ok: true };
      },
    }),
  });

  async function start(timeoutMs?: number) {
    runs.length = 0;
    finished = 0;
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    const enrichment = timeoutMs === undefined ? flaky : { ...flaky, timeoutMs };
    const connection = createRedis({ url: redisUrl }, "bullmq");
    const cache = createRedis({ url: redisUrl }, "bullmq");
    cleanups.push(() => Promise.allSettled([connection.quit(), cache.quit()]));
    const worker: Worker = startEnrichmentWorker({
      enrichment,
      handler: (await flaky.setup({})) as never,
      connection,
      cache,
      keys,
      log,
    });
    cleanups.push(() => worker.close());
    const enqueuer = new Enqueuer({ connection: redis, keyPrefix: prefix });
    cleanups.push(() => enqueuer.close());
    const queue = new Queue(queueName(flaky), { connection: redis, prefix: bullPrefix(prefix) });
    cleanups.push(() => queue.close());
    return { keys, worker, enqueuer, queue };
  }

  async function failedJob(queue: Queue) {
    await vi.waitFor(async () => expect((await queue.getJobCounts("failed")).failed).toBe(1), {
      timeout: 5_000,
      interval: 25,
    });
    const [job] = await queue.getFailed();
    return job!;
  }

  it("retries a failing run, keeps the job as failed with the reason, and caches nothing", async () => {
    const { keys, enqueuer, queue } = await start();
    expect(await enqueuer.enqueue(flaky, { id: "fail-1" })).toBe("added");
    const job = await failedJob(queue);
    expect(job.failedReason).toBe("provider unavailable");
    expect(job.attemptsMade).toBe(2);
    expect(runs).toEqual(["fail-1", "fail-1"]);
    expect(await redis.exists(factKey(keys, flaky, { id: "fail-1" }))).toBe(0);
    expect(await redis.keys(`${keys.prefix}:v1:fact:*`)).toEqual([]);
  });

  it("fails a run that outlives its timeout, with the timeout as the reason", async () => {
    const { keys, enqueuer, queue } = await start();
    const began = Date.now();
    await enqueuer.enqueue(flaky, { id: "hang-1" });
    const job = await failedJob(queue);
    expect(job.failedReason).toBe("enrich.test-flaky.v1 did not finish within 100 ms");
    expect(job.attemptsMade).toBe(2);
    expect(Date.now() - began).toBeLessThan(2_000); // two 100 ms attempts, not two 5 s sleeps
    expect(await redis.exists(factKey(keys, flaky, { id: "hang-1" }))).toBe(0);
  });

  it("lets an active job finish and write its fact before close resolves", async () => {
    const { keys, worker, enqueuer, queue } = await start(2_000);
    const running = new Promise<void>((resolve) => (started = resolve));
    await enqueuer.enqueue(flaky, { id: "slow-1" });
    await running;
    await worker.close();
    const closedAt = Date.now();
    expect(finished).toBeGreaterThan(0);
    expect(finished).toBeLessThanOrEqual(closedAt);
    expect(decodeFact((await redis.get(factKey(keys, flaky, { id: "slow-1" }))) ?? "")?.fact).toEqual({
      id: "slow-1",
      ok: true,
    });
    expect(await queue.getJobCounts("completed", "failed", "active", "wait")).toEqual({
      completed: 1,
      failed: 0,
      active: 0,
      wait: 0,
    });
  });

  it("startWorkers' close() waits for an in-flight email-domain job (a slow MX lookup)", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    const running = await workers(prefix, { GATEHOUSE_ENRICHMENTS: "email-domain" });
    const enqueuer = new Enqueuer({ connection: redis, keyPrefix: prefix });
    cleanups.push(() => enqueuer.close());
    const queriesBefore = dns.queries.filter((name) => name === slowDomain).length;
    await enqueuer.enqueue(ENRICHMENTS["email-domain"], { domain: slowDomain });
    // The job is active once its MX query reaches the stub (which never answers it).
    await vi.waitFor(
      () => expect(dns.queries.filter((name) => name === slowDomain).length).toBeGreaterThan(queriesBefore),
      { timeout: 2_000, interval: 10 },
    );
    const closing = performance.now();
    await running.close();
    expect(performance.now() - closing).toBeGreaterThan(MX_TIMEOUT_MS / 2);
    const fact = decodeFact((await redis.get(keys.fact("email-domain", 1, slowDomain))) ?? "")?.fact;
    expect(fact).toMatchObject({ domain: slowDomain, disposable: false, mx: "unknown" });
  });
});

describe("a Redis that vanishes without closing the worker's connections (a black hole)", () => {
  it("gives them up after their silence and takes the jobs of the Redis its address now leads to", async () => {
    const [first, second] = [await startRedis(), await startRedis()];
    cleanups.push(
      () => first.stop(),
      () => second.stop(),
    );
    const endpoint = await startTcpProxy(first.port);
    cleanups.push(() => endpoint.close());
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    await workers(prefix, {
      REDIS_URL: `redis://127.0.0.1:${endpoint.port}`,
      GATEHOUSE_ENRICHMENTS: "email-domain",
    });
    const after = createRedis({ url: second.url }, "bullmq");
    cleanups.push(() => after.quit());

    // The first Redis' host is gone without a word; its address now leads to the second, where a job waits.
    endpoint.blackHole();
    endpoint.retarget(second.port);
    const enqueuer = new Enqueuer({ connection: after, keyPrefix: prefix });
    cleanups.push(() => enqueuer.close());
    await whenReady(after);
    expect(await enqueuer.enqueue(ENRICHMENTS["email-domain"], { domain: plainDomain })).toBe("added");
    // Its blocked connection is given up 15 s after its last byte (BullMQ blocks 10 s at most), not after
    // TCP's ~15 minutes; the job is then taken and its fact written on the second.
    await vi.waitFor(
      async () => {
        const raw = await after.get(factKey(keys, ENRICHMENTS["email-domain"], { domain: plainDomain }));
        expect(decodeFact(raw ?? "")?.fact).toMatchObject({ domain: plainDomain, mx: "present" });
      },
      { timeout: 30_000, interval: 250 },
    );
  }, 40_000);
});

describe("a full Redis (maxmemory reached, noeviction)", () => {
  it("the worker says so, takes no job meanwhile, and takes those that waited once Redis has room", async () => {
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const client = createRedis({ url: server.url }, "bullmq");
    cleanups.push(() => client.quit());
    await whenReady(client);
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    const enqueuer = new Enqueuer({ connection: client, keyPrefix: prefix });
    cleanups.push(() => enqueuer.close());
    const domains = [`a${suffix}.example`, `b${suffix}.example`, `c${suffix}.example`];
    for (const domain of domains)
      expect(await enqueuer.enqueue(ENRICHMENTS["email-domain"], { domain })).toBe("added");
    const factOf = (domain: string) => client.get(factKey(keys, ENRICHMENTS["email-domain"], { domain }));

    await client.config("SET", "maxmemory", "1");
    cleanups.push(() => client.config("SET", "maxmemory", "0"));
    const { log: logger, lines } = capturedLog("worker", "error");
    await workers(prefix, { REDIS_URL: server.url, GATEHOUSE_ENRICHMENTS: "email-domain" }, logger);
    await vi.waitFor(() => expect(lines.join("\n")).toContain("Redis is full (maxmemory)"), {
      timeout: 5_000,
      interval: 50,
    });
    const queue = new Queue(queueName(ENRICHMENTS["email-domain"]), {
      connection: client,
      prefix: bullPrefix(prefix),
    });
    cleanups.push(() => queue.close());
    expect(await queue.getJobCounts("wait", "active")).toEqual({ wait: 3, active: 0 });

    await client.config("SET", "maxmemory", "0");
    await vi.waitFor(
      async () => {
        for (const domain of domains)
          expect(decodeFact((await factOf(domain)) ?? "")?.fact).toMatchObject({ domain });
      },
      { timeout: 10_000, interval: 100 },
    );
  }, 20_000);
});
