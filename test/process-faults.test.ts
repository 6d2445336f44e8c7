import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { interceptorAnswerSchema } from "@gatehouse/contracts";
import { type CacheKeys, cacheKeys, decodeFact } from "@gatehouse/decision-cache";
import { bullPrefix, Enqueuer } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { closeClient, createRedis, type Redis } from "@gatehouse/redis";
import { signedHeaders } from "@gatehouse/signature";
import { cleanupsAfterEach } from "@gatehouse/testing";
import { Queue } from "bullmq";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { assertBuilt, INGRESS, WORKER } from "./support/artifacts.js";
import { readAudit } from "./support/audit-records.js";
import { type Exit, spawnTs, type TsProcess } from "./support/child-process.js";
import { body, SECRET } from "./support/ingress-harness.js";
import { freePort, startRedis } from "./support/redis-server.js";

// The built artifacts as production runs them, killed and stopped the ways an orchestrator does: SIGKILL
// (an OOM kill, a lost node) and SIGTERM (a rolling deploy). Against the shared test Redis, each test under
// its own key prefix. `npm test` builds the apps first; alone, run `npm run build` before.

const redisUrl = inject("redisUrl");
const suffix = randomUUID().slice(0, 8);
/** An MX lookup the stub DNS server never answers: the job stays active for the whole MX timeout. */
const MX_TIMEOUT_MS = 3_000;
/** Short locks, so a dead worker's job is found stalled within seconds (production: 30 s). */
const JOB_LOCK_MS = 2_000;

let redis: Redis;
let dns: StubDnsServer;
const slowDomains = [`slow1-${suffix}.example`, `slow2-${suffix}.example`];

beforeAll(async () => {
  assertBuilt();
  redis = createRedis({ url: redisUrl }, "bullmq");
  dns = await startStubDnsServer(Object.fromEntries(slowDomains.map((domain) => [domain, "silent"])));
});
afterAll(async () => {
  await dns?.close();
  await redis?.quit();
});

// Cleanups run in reverse order of registration, whatever the test did.
const cleanups = cleanupsAfterEach();

const newPrefix = () => `pf${randomUUID().slice(0, 8)}`;

/** A queue under `prefix`, obliterated after the test (its jobs have no TTL). */
function queueOf(prefix: string, name = "email-domain"): Queue {
  const queue = new Queue(`enrich.${name}`, { connection: redis, prefix: bullPrefix(prefix) });
  cleanups.push(async () => {
    await queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
  });
  return queue;
}

/** The built worker, email-domain only, its MX lookups going to the stub; resolves once it takes jobs. */
async function startWorker(
  prefix: string,
  queue: Queue,
  env: { REDIS_URL?: string; LOG_LEVEL?: string } = {},
): Promise<TsProcess> {
  const worker = spawnTs(WORKER, [], {
    REDIS_URL: env.REDIS_URL ?? redisUrl,
    GATEHOUSE_KEY_PREFIX: prefix,
    LOG_LEVEL: env.LOG_LEVEL ?? "warn",
    NODE_ENV: "production",
    GATEHOUSE_ENRICHMENTS: "email-domain",
    GATEHOUSE_WARM: "false",
    GATEHOUSE_WORKER_PORT: "0",
    HOST: "127.0.0.1",
    GATEHOUSE_DNS_SERVERS: dns.address,
    GATEHOUSE_MX_TIMEOUT_MS: String(MX_TIMEOUT_MS),
    GATEHOUSE_JOB_LOCK_MS: String(JOB_LOCK_MS),
  });
  cleanups.push(() => worker.kill());
  const before = await queue.getWorkersCount();
  await vi.waitFor(
    async () => {
      if (worker.child.exitCode !== null) throw new Error(`worker exited early:\n${worker.output()}`);
      expect(await queue.getWorkersCount()).toBeGreaterThan(before);
    },
    { timeout: 15_000, interval: 50 },
  );
  return worker;
}

const queriesFor = (domain: string) => dns.queries.filter((name) => name === domain).length;

/**
 * Enqueues the email-domain job for `domain` as the ingress does, and waits until a worker runs it: active
 * in the queue, and its MX query (which the stub never answers) sent.
 */
async function enqueueSlowJob(prefix: string, queue: Queue, domain: string): Promise<void> {
  const enqueuer = new Enqueuer({ connection: redis, keyPrefix: prefix });
  cleanups.push(() => enqueuer.close());
  expect(await enqueuer.enqueue(ENRICHMENTS["email-domain"], { domain })).toBe("added");
  await vi.waitFor(
    async () => {
      expect(queriesFor(domain)).toBe(1);
      expect((await queue.getJobCounts("active")).active).toBe(1);
    },
    { timeout: 5_000, interval: 20 },
  );
}

const factOf = async (keys: CacheKeys, domain: string) =>
  decodeFact((await redis.get(keys.fact("email-domain", 1, domain))) ?? "")?.fact;

const COUNTS = ["wait", "active", "delayed", "completed", "failed"] as const;

describe("a worker killed with SIGKILL mid-job", () => {
  it("leaves the job to stalled-job recovery: a second worker runs it once, and the fact is cached", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    const domain = slowDomains[0]!;
    const queue = queueOf(prefix);
    const first = await startWorker(prefix, queue);
    await enqueueSlowJob(prefix, queue, domain);

    await first.kill(); // SIGKILL: no close(), the job's lock is left to expire
    expect(first.child.signalCode).toBe("SIGKILL");
    expect(await queue.getJobCounts(...COUNTS)).toMatchObject({ active: 1, completed: 0, failed: 0 });
    expect(await factOf(keys, domain)).toBeUndefined();

    const second = await startWorker(prefix, queue);
    const secondReadyAt = performance.now();
    await vi.waitFor(async () => expect((await queue.getJobCounts("completed")).completed).toBe(1), {
      timeout: 15_000,
      interval: 50,
    });
    const recoveredMs = performance.now() - secondReadyAt;
    // The lock's expiry (≤ 2 s after the kill) and up to two stalled checks 2 s apart, then the 3 s job. With
    // BullMQ's defaults (30 s lock, 30 s check) this took about a minute.
    expect(recoveredMs).toBeLessThan(3 * JOB_LOCK_MS + MX_TIMEOUT_MS + 2_000);

    expect(await factOf(keys, domain)).toEqual({
      domain,
      registrable: domain,
      disposable: false,
      freeMail: false,
      mx: "unknown", // the stub never answered: a timeout is "unknown", never "absent"
    });
    expect(await queue.getJobCounts(...COUNTS)).toEqual({
      wait: 0,
      active: 0,
      delayed: 0,
      completed: 1,
      failed: 0,
    });
    // It came back through the stalled check (not a retry after a failure), and only once.
    const [job] = await queue.getCompleted();
    expect(job?.stalledCounter).toBe(1);
    expect(queriesFor(domain)).toBe(2);

    const exit = await second.stop("SIGTERM", 10_000);
    expect(exit, second.output()).toEqual({ code: 0, signal: null });
    expect(second.output()).toBe("");
  }, 45_000);
});

describe("a worker stopped with SIGTERM during a job", () => {
  it("finishes the job (or returns it to the queue), never fails it, and exits with code 0", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    const domain = slowDomains[1]!;
    const queue = queueOf(prefix);
    const worker = await startWorker(prefix, queue);
    await enqueueSlowJob(prefix, queue, domain);

    const stoppedAt = performance.now();
    const exit = await worker.stop("SIGTERM", 15_000);
    const stopMs = performance.now() - stoppedAt;
    expect(exit, worker.output()).toEqual({ code: 0, signal: null });
    expect(worker.output()).toBe(""); // nothing at warn or above

    const counts = await queue.getJobCounts(...COUNTS);
    const fact = await factOf(keys, domain);
    expect(counts.failed).toBe(0);
    expect(counts.active).toBe(0);
    if (counts.completed === 1) {
      // Finished: the exit waited for the MX timeout, and the fact is cached.
      expect(fact).toMatchObject({ domain, mx: "unknown" });
      expect(counts.wait).toBe(0);
      expect(stopMs).toBeGreaterThan(MX_TIMEOUT_MS / 2);
    } else {
      // Returned: waiting for the next worker, nothing cached.
      expect(counts).toMatchObject({ wait: 1, completed: 0 });
      expect(fact).toBeUndefined();
    }
    expect(stopMs).toBeLessThan(MX_TIMEOUT_MS + 5_000);
  }, 30_000);
});

describe("a worker stopped with SIGTERM while Redis is away", () => {
  it.each([
    ["killed", "killed"],
    ["paused (SIGSTOP): connections open, nothing answered", "paused"],
  ] as const)(
    "exits within seconds with code 0, not waiting for Redis: %s",
    async (_case, fault) => {
      const server = await startRedis();
      cleanups.push(() => server.stop());
      const own = createRedis({ url: server.url }, "bullmq");
      own.on("error", () => {}); // it sees the outage too
      cleanups.push(() => closeClient(own));
      const prefix = newPrefix();
      const queue = new Queue("enrich.email-domain", { connection: own, prefix: bullPrefix(prefix) });
      cleanups.push(() => queue.close());
      const worker = await startWorker(prefix, queue, { REDIS_URL: server.url, LOG_LEVEL: "info" });
      // Its start is over (and its SIGTERM handler set) once it says so: BullMQ counts the worker earlier.
      await vi.waitFor(() => expect(worker.output()).toContain('"worker running"'), { timeout: 10_000 });

      if (fault === "paused") {
        server.pause();
        cleanups.push(async () => server.resume());
      } else {
        await server.kill();
        // BullMQ reports every reconnection attempt (four in the first second, then one a second, per
        // connection): the log gets one line per kind of error every 5 s, with how many it stands for.
        await sleep(2_500);
        const errorLines = worker
          .output()
          .split("\n")
          .filter((line) => line.includes('"worker error"'));
        expect(errorLines.length, worker.output()).toBeGreaterThan(0);
        expect(errorLines.length, worker.output()).toBeLessThanOrEqual(2);
      }
      const stoppedAt = performance.now();
      const exit = await worker.stop("SIGTERM", 15_000);
      expect(exit, worker.output()).toEqual({ code: 0, signal: null });
      // Paused: a PING unanswered for 1 s counts Redis away, and the clients' QUIT is given 1 s more.
      // Before: a graceful close waited for Redis, until the worker's own 30 s limit (exit code 1).
      expect(performance.now() - stoppedAt).toBeLessThan(4_000);
    },
    30_000,
  );
});

describe("a worker stopped with SIGTERM while it waits for Redis at its start", () => {
  it("says starting on its port meanwhile, then exits 0 at once on SIGTERM", async () => {
    const port = await freePort();
    const worker = spawnTs(WORKER, [], {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`, // nothing listens there
      GATEHOUSE_KEY_PREFIX: newPrefix(),
      LOG_LEVEL: "info",
      NODE_ENV: "production",
      GATEHOUSE_ENRICHMENTS: "email-domain",
      GATEHOUSE_WORKER_PORT: String(port),
      HOST: "127.0.0.1",
    });
    cleanups.push(() => worker.kill());
    await vi.waitFor(
      async () => {
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect(await health.json()).toEqual({ status: "starting" });
      },
      { timeout: 10_000, interval: 100 },
    );
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);

    const stoppedAt = performance.now();
    const exit = await worker.stop("SIGTERM", 5_000);
    // Before: no handler was set until the start was over, and the signal ended the process (no log, no 0).
    expect(exit, worker.output()).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain('"shutting down: finishing in-flight jobs"');
    expect(performance.now() - stoppedAt).toBeLessThan(2_000);
  });
});

describe("the ingress stopped with SIGTERM under load", () => {
  const DEADLINE_MS = 1_500; // the default
  const IN_FLIGHT = 200;

  interface Outcome {
    status?: number;
    answer?: unknown;
    error?: string;
  }

  /** One signed POST over fetch (keep-alive): its outcome, never a rejection. */
  async function post(url: string, route: string, payload: unknown, id?: string): Promise<Outcome> {
    const raw = JSON.stringify(payload);
    const headers = signedHeaders({ secret: SECRET, body: raw, ...(id && { id }) });
    try {
      const response = await fetch(`${url}/auth/interceptors${route}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: raw,
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      let answer: unknown = text;
      try {
        answer = JSON.parse(text);
      } catch {}
      return { status: response.status, answer };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return { error: cause?.code ?? cause?.message ?? String(error) };
    }
  }

  const valid = (outcome: Outcome) =>
    outcome.status === 200 && interceptorAnswerSchema.safeParse(outcome.answer).success;

  it("answers every request in flight, flushes its audit, and exits 0 within the deadline", async () => {
    const prefix = newPrefix();
    const keys = cacheKeys(prefix);
    // No worker: every PRE_SIGNUP below waits its 1 s miss budget; its jobs are dropped afterwards.
    queueOf(prefix, "email-domain");
    queueOf(prefix, "ip-reputation");
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const ingress = spawnTs(INGRESS, [], {
      REDIS_URL: redisUrl,
      SCALEKIT_INTERCEPTOR_SECRET: SECRET,
      GATEHOUSE_KEY_PREFIX: prefix,
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
      NODE_ENV: "production",
    });
    cleanups.push(() => ingress.kill());
    await vi.waitFor(
      async () => {
        if (ingress.child.exitCode !== null) throw new Error(`ingress exited early:\n${ingress.output()}`);
        expect((await fetch(`${url}/readyz`).catch(() => undefined))?.status).toBe(200);
      },
      { timeout: 15_000, interval: 100 },
    );

    // Keep-alive connections, opened and idle, that the burst below reuses.
    const warmUp = await Promise.all(
      Array.from({ length: 20 }, () => post(url, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION"))),
    );
    expect(warmUp.every(valid), JSON.stringify(warmUp)).toBe(true);

    // New domains, no worker: each request misses and waits for an announcement that never comes.
    const ids = Array.from({ length: IN_FLIGHT }, (_, i) => `msg_pf${suffix}${String(i).padStart(4, "0")}`);
    const inFlight = ids.map((id, i) =>
      post(
        url,
        "/pre-signup",
        body("PRE_SIGNUP_NEW_USER", { user_email: `user${i}@n${i % 10}-${suffix}.example` }),
        id,
      ),
    );
    // Every one of them is inside the handler once its one Redis command has claimed its interceptor id.
    const idemKeys = ids.map((id) => keys.idempotency(id));
    await vi.waitFor(async () => expect(await redis.exists(...idemKeys)).toBe(IN_FLIGHT), {
      timeout: 10_000,
      interval: 20,
    });

    const signalledAt = performance.now();
    ingress.child.kill("SIGTERM");
    // Sent after the signal: may be answered or refused at the TCP level, but never answered wrongly.
    const late = await Promise.all(
      Array.from({ length: 10 }, () => post(url, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION"))),
    );
    const answers = await Promise.all(inFlight);
    const exit = await Promise.race<Exit | "timeout">([
      ingress.exited,
      sleep(DEADLINE_MS + 8_000).then(() => "timeout" as const),
    ]);
    const exitMs = performance.now() - signalledAt;

    const failures = answers.filter((outcome) => !valid(outcome));
    expect(failures, `${failures.length} in-flight requests were not answered`).toEqual([]);
    // The answers come from the policy after the wait (or from the fail-open fallback): ALLOW.
    expect(new Set(answers.map((outcome) => (outcome.answer as { decision: string }).decision))).toEqual(
      new Set(["ALLOW"]),
    );
    for (const outcome of late) {
      if (outcome.status !== undefined) expect(valid(outcome), JSON.stringify(outcome)).toBe(true);
      else expect(outcome.error).toMatch(/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|other side closed/);
    }
    const lateAnswered = late.filter(valid).length;

    expect(exit, ingress.output()).toEqual({ code: 0, signal: null });
    expect(exitMs, `exited ${Math.round(exitMs)} ms after SIGTERM`).toBeLessThan(DEADLINE_MS + 3_000);
    expect(ingress.output()).toBe(""); // nothing at warn or above

    // The after-reply buffer was flushed on the way out: one audit record per counted answer.
    const records = await readAudit(redis, keys.auditStream);
    expect(records.filter((record) => record.trigger === "PRE_SIGNUP")).toHaveLength(IN_FLIGHT);
    expect(records).toHaveLength(IN_FLIGHT + warmUp.length + lateAnswered);
    console.info(
      `ingress SIGTERM: ${IN_FLIGHT} in flight answered, late ${lateAnswered} answered / ${late.length - lateAnswered} refused, exit after ${Math.round(exitMs)} ms`,
    );
  }, 30_000);
});
