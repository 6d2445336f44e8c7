import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheKeys } from "@gatehouse/decision-cache";
import {
  defineEnrichment,
  Enqueuer,
  enrichmentsTakingJobs,
  jobName,
  RateLimitedError,
  startEnrichmentWorker,
} from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS, type EnrichmentName } from "@gatehouse/enrichments";
import { closeClient, createRedis, whenReady } from "@gatehouse/redis";
import { createLogger, createRegistry } from "@gatehouse/telemetry";
import { cleanupsAfterEach } from "@gatehouse/testing";
import { parseWorkerEnv } from "@gatehouse/worker/src/env.js";
import { type RunningWorkers, startWorkers } from "@gatehouse/worker/src/start-workers.js";
import { workerHttp } from "@gatehouse/worker/src/worker-http.js";
import { observeWorkers } from "@gatehouse/worker/src/worker-metrics.js";
import { Queue, type Worker } from "bullmq";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { z } from "zod";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { trickleHttp } from "./support/hostile-harness.js";
import { startRedis } from "./support/redis-server.js";

const log = createLogger({ name: "worker-observability-test", level: "silent" });
const suffix = randomUUID().slice(0, 8);
const domains = [1, 2, 3].map((n) => `d${n}${suffix}.example`);

let dns: StubDnsServer;
beforeAll(async () => {
  dns = await startStubDnsServer(Object.fromEntries(domains.map((d) => [d, { mx: [[10, `mx.${d}`]] }])));
});
afterAll(async () => {
  await dns?.close();
});

const cleanups = cleanupsAfterEach();

/** The value of one series in the Prometheus text, or undefined when the series is absent. */
async function metric(app: FastifyInstance, series: string): Promise<number | undefined> {
  const text = (await app.inject("/metrics")).body;
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const queued = (state: string) =>
  `gatehouse_enrichment_queue_jobs{enrichment="email-domain",state="${state}"}`;
const jobs = (enrichment: string, result: string) =>
  `gatehouse_enrichment_jobs_total{enrichment="${enrichment}",result="${result}"}`;

describe("the worker's port: health, readiness and metrics of the real workers", () => {
  async function start() {
    // A Redis of its own: the test stops it.
    const server = await startRedis();
    cleanups.push(() => server.stop());
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const source = {
      REDIS_URL: server.url,
      GATEHOUSE_KEY_PREFIX: prefix,
      GATEHOUSE_ENRICHMENTS: "email-domain",
      GATEHOUSE_WARM: "false",
      GATEHOUSE_DNS_SERVERS: dns.address,
      GATEHOUSE_MX_TIMEOUT_MS: "300",
    };
    let running: RunningWorkers | undefined;
    const registry = createRegistry();
    const app = workerHttp(() => running, registry);
    cleanups.push(() => app.close());
    const before = { health: await app.inject("/healthz"), ready: await app.inject("/readyz") };

    const started = await startWorkers(parseWorkerEnv(source), log);
    running = started;
    cleanups.push(() => started.close());
    observeWorkers(registry, started);
    const redis = createRedis({ url: server.url }, "bullmq");
    redis.on("error", () => {}); // the last test stops this Redis
    cleanups.push(() => closeClient(redis));
    await whenReady(redis);
    const enqueuer = new Enqueuer({ connection: redis, keyPrefix: prefix });
    cleanups.push(() => enqueuer.close());
    return { server, prefix, app, before, running: started, redis, enqueuer };
  }

  it("says starting until the workers run, then ready with each enrichment's state", async () => {
    const { app, before } = await start();
    expect(before.health.statusCode).toBe(200);
    expect(before.health.json()).toEqual({ status: "starting" });
    expect(before.ready.statusCode).toBe(503);
    expect(before.ready.json()).toEqual({ status: "starting" });

    const health = await app.inject("/healthz");
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: "ok", workers: { "email-domain": "running" } });
    const ready = await app.inject("/readyz");
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: "ready", redis: true, workers: { "email-domain": "running" } });
    expect(await metric(app, 'gatehouse_enrichment_worker_running{enrichment="email-domain"}')).toBe(1);
  });

  it("counts the backlog while the worker is paused, then the jobs it completes and how long they took", async () => {
    const { app, running, enqueuer } = await start();
    const worker = running.workers.get("email-domain") as Worker;
    await worker.pause();
    for (const domain of domains) await enqueuer.enqueue(ENRICHMENTS["email-domain"], { domain });

    expect(await metric(app, queued("waiting"))).toBe(3);
    expect(await metric(app, queued("active"))).toBe(0);
    expect(await metric(app, jobs("email-domain", "completed"))).toBeUndefined();

    worker.resume();
    await vi.waitFor(async () => expect(await metric(app, jobs("email-domain", "completed"))).toBe(3), {
      timeout: 5_000,
      interval: 50,
    });
    expect(await metric(app, queued("waiting"))).toBe(0);
    expect(
      await metric(app, 'gatehouse_enrichment_job_duration_seconds_count{enrichment="email-domain"}'),
    ).toBe(3);
    // Each job looked up an MX record on the stub, answered at once: well under a second.
    const seconds = await metric(
      app,
      'gatehouse_enrichment_job_duration_seconds_sum{enrichment="email-domain"}',
    );
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(3);
  });

  it("counts a job the worker refuses (an invalid payload) as failed, and keeps it in the failed gauge", async () => {
    const { app, prefix, redis } = await start();
    const queue = new Queue("enrich.email-domain", { connection: redis, prefix: `${prefix}:{bull}` });
    cleanups.push(() => queue.close());
    await queue.add(jobName(ENRICHMENTS["email-domain"]), { domain: 42 }, { attempts: 3 });

    await vi.waitFor(async () => expect(await metric(app, jobs("email-domain", "failed"))).toBe(1), {
      timeout: 5_000,
      interval: 50,
    });
    expect(await metric(app, jobs("email-domain", "retried"))).toBeUndefined();
    expect(await metric(app, queued("failed"))).toBe(1);
  });

  it("with Redis gone: /readyz says so at once, /metrics still answers, without the backlog", async () => {
    const { app, server } = await start();
    expect(await metric(app, queued("waiting"))).toBe(0);
    await server.kill();

    const began = performance.now();
    const ready = await app.inject("/readyz");
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: "unavailable", redis: false });
    const scraped = await app.inject("/metrics");
    expect(performance.now() - began).toBeLessThan(2_000);
    expect(scraped.statusCode).toBe(200);
    expect(scraped.body).toContain("gatehouse_process_cpu_seconds_total");
    expect(scraped.body).not.toContain('gatehouse_enrichment_queue_jobs{enrichment="email-domain"');
    // The worker was not asked to stop: it waits for Redis, and the process stays healthy.
    expect((await app.inject("/healthz")).statusCode).toBe(200);
  });

  it("with Redis hung (SIGSTOP): a scrape gives up on the backlog after 1 s instead of waiting", async () => {
    const { app, server } = await start();
    server.pause();
    cleanups.push(async () => server.resume());

    const began = performance.now();
    const scraped = await app.inject("/metrics");
    const took = performance.now() - began;
    expect(took).toBeGreaterThan(900);
    expect(took).toBeLessThan(2_000);
    expect(scraped.statusCode).toBe(200);
    expect(scraped.body).not.toContain('gatehouse_enrichment_queue_jobs{enrichment="email-domain"');
    expect((await app.inject("/readyz")).json()).toMatchObject({ status: "unavailable", redis: false });
  });
});

describe("a worker that takes no jobs, and retries", () => {
  // `fail-*` throws (retried once, then failed); `busy-*` asks for a pause once; anything else succeeds.
  const busyOnce = new Set(["busy-1"]);
  const flaky = defineEnrichment({
    name: "test-observed",
    version: 1,
    input: z.object({ id: z.string() }),
    fact: z.object({ id: z.string() }),
    fromRequest: () => undefined,
    subject: (input) => input.id,
    retry: { attempts: 2, backoffMs: 20 },
    settings: z.object({}),
    setup: () => ({
      async run({ id }) {
        await sleep(5);
        if (id.startsWith("fail")) throw new Error("provider unavailable");
        if (busyOnce.delete(id)) throw new RateLimitedError("test.busy", "slow down", 50);
        return { id };
      },
    }),
  });
  // Its handler cannot start (say, a list it needs is missing): its worker never takes a job.
  const broken = defineEnrichment({
    ...flaky,
    name: "test-broken",
    setup: () => ({
      run: async ({ id }: { id: string }) => ({ id }),
      start: async () => {
        throw new Error("the list is missing");
      },
    }),
  });

  it("/healthz is 503 naming the stopped worker; retried, failed and paused attempts are told apart", async () => {
    const redisUrl = inject("redisUrl");
    const prefix = `t${randomUUID().slice(0, 8)}`;
    const keys = cacheKeys(prefix);
    const connection = createRedis({ url: redisUrl }, "bullmq");
    const cache = createRedis({ url: redisUrl }, "bullmq");
    cleanups.push(() => Promise.allSettled([connection, cache].map(closeClient)));
    const workers = new Map<EnrichmentName, Worker>();
    for (const enrichment of [flaky, broken]) {
      const worker = startEnrichmentWorker({
        enrichment,
        handler: (await enrichment.setup({})) as never,
        connection,
        cache,
        keys,
        log,
      });
      cleanups.push(() => worker.close());
      workers.set(enrichment.name as EnrichmentName, worker);
    }
    const running: RunningWorkers = {
      workers,
      redisUp: async () => true,
      jobCounts: async () => undefined,
      close: async () => {},
    };
    const registry = createRegistry();
    observeWorkers(registry, running);
    const app = workerHttp(() => running, registry);
    cleanups.push(() => app.close());

    await vi.waitFor(
      async () => {
        const health = await app.inject("/healthz");
        expect(health.statusCode).toBe(503);
        expect(health.json()).toEqual({
          status: "stopped",
          workers: { "test-observed": "running", "test-broken": "stopped" },
        });
      },
      { timeout: 2_000, interval: 20 },
    );
    expect((await app.inject("/readyz")).statusCode).toBe(503);
    expect(await metric(app, 'gatehouse_enrichment_worker_running{enrichment="test-broken"}')).toBe(0);
    // What the process says it runs, for the ingress' waits (worker-presence.ts): not the stopped one.
    expect(enrichmentsTakingJobs(workers)).toEqual(["test-observed"]);

    const enqueuer = new Enqueuer({ connection: cache, keyPrefix: prefix });
    cleanups.push(() => enqueuer.close());
    await whenReady(cache);
    expect(await enqueuer.enqueue(flaky, { id: "fail-1" })).toBe("added");
    expect(await enqueuer.enqueue(flaky, { id: "ok-1" })).toBe("added");
    expect(await enqueuer.enqueue(flaky, { id: "busy-1" })).toBe("added");
    await vi.waitFor(
      async () => {
        expect(await metric(app, jobs("test-observed", "failed"))).toBe(1);
        expect(await metric(app, jobs("test-observed", "completed"))).toBe(2);
      },
      { timeout: 5_000, interval: 25 },
    );
    expect(await metric(app, jobs("test-observed", "retried"))).toBe(1);
    expect(await metric(app, jobs("test-observed", "paused"))).toBe(1);
  });
});

describe("the worker's port under a slow client", () => {
  it("closes a request that has not arrived 10 s after it began (slowloris)", async () => {
    const app = workerHttp(() => undefined, createRegistry());
    cleanups.push(() => app.close());
    await app.listen({ port: 0, host: "127.0.0.1" });
    const port = (app.server.address() as { port: number }).port;
    const trickled = await trickleHttp(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n", {
      drip: "x-padding: yes\r\n",
      everyMs: 500,
      timeoutMs: 25_000,
    });
    expect(trickled.response?.status).toBe(408);
    expect(trickled.closedAfterMs).toBeGreaterThanOrEqual(9_900);
    expect(trickled.closedAfterMs).toBeLessThan(12_500);
    // And it answers on.
    expect((await app.inject("/healthz")).json()).toEqual({ status: "starting" });
  }, 30_000);
});
