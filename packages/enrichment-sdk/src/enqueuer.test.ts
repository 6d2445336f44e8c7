import { randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createRedis, type Redis, whenReady } from "@gatehouse/redis";
import { cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { Queue, UnrecoverableError, Worker } from "bullmq";
import { describe, expect, inject, it, vi } from "vitest";
import { z } from "zod";
import { defineEnrichment } from "./define-enrichment.js";
import { Enqueuer } from "./enqueuer.js";
import { bullPrefix, queueName } from "./queue-names.js";

const redisUrl = inject("redisUrl");
const redisPort = Number(new URL(redisUrl).port);
const redis = testRedis();

const cleanups = cleanupsAfterEach();

const probe = defineEnrichment({
  name: "test-probe",
  version: 3,
  input: z.object({ id: z.string().min(1), weight: z.number().default(1) }),
  fact: z.object({ ok: z.boolean() }),
  fromRequest: () => undefined,
  subject: (input) => input.id,
  retry: { attempts: 4, backoffMs: 250 },
  settings: z.object({}),
  setup: () => ({ run: async () => ({ ok: true }) }),
});

function newPrefix(): string {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  cleanups.push(async () => {
    const found = await redis.keys(`${prefix}:*`);
    if (found.length > 0) await redis.del(...found);
  });
  return prefix;
}

/** The ingress' fail-fast connection, connected. */
async function requestPath(url = redisUrl): Promise<Redis> {
  const client = createRedis({ url }, "request-path");
  client.on("error", () => {});
  cleanups.push(async () => client.disconnect());
  await whenReady(client);
  return client;
}

function enqueuer(connection: Redis, keyPrefix: string, dedupMs?: number): Enqueuer {
  const created = new Enqueuer({ connection, keyPrefix, ...(dedupMs !== undefined && { dedupMs }) });
  cleanups.push(() => created.close());
  return created;
}

function queue(prefix: string): Queue {
  const created = new Queue(queueName(probe), { connection: redis, prefix: bullPrefix(prefix) });
  cleanups.push(() => created.close());
  return created;
}

describe("Enqueuer", () => {
  it("makes one job of concurrent enqueues of one subject: added once, deduplicated otherwise", async () => {
    const prefix = newPrefix();
    const q = enqueuer(await requestPath(), prefix);
    const results = await Promise.all(Array.from({ length: 5 }, () => q.enqueue(probe, { id: "subject-1" })));
    expect(results).toEqual(["added", "deduplicated", "deduplicated", "deduplicated", "deduplicated"]);

    const jobs = await queue(prefix).getJobs(["wait", "delayed", "active", "prioritized"]);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    expect(job?.name).toBe("enrich.test-probe.v3");
    // The payload is the validated input, defaults included.
    expect(job?.data).toEqual({ id: "subject-1", weight: 1 });
    expect(job?.opts).toMatchObject({
      attempts: 4,
      backoff: { type: "exponential", delay: 250 },
      deduplication: { id: "test-probe.v3:subject-1" },
    });
  });

  it("makes one job across processes and over time, through BullMQ's deduplication id", async () => {
    const prefix = newPrefix();
    const first = enqueuer(await requestPath(), prefix, 5_000);
    const second = enqueuer(await requestPath(), prefix, 5_000);
    const both = await Promise.all([
      first.enqueue(probe, { id: "shared" }),
      second.enqueue(probe, { id: "shared" }),
    ]);
    // Each process sent its add; BullMQ made one job, and the other add says it was deduplicated.
    expect(both.toSorted()).toEqual(["added", "deduplicated"]);
    expect(await first.enqueue(probe, { id: "shared" })).toBe("deduplicated");
    const q = queue(prefix);
    expect(await q.getJobCounts("wait")).toEqual({ wait: 1 });
    const [job] = await q.getWaiting();
    expect(job?.opts.deduplication).toEqual({ id: "test-probe.v3:shared" });
  });

  it("sends no add for a subject it added within dedupMs, and adds once that is over", async () => {
    const prefix = newPrefix();
    const q = enqueuer(await requestPath(), prefix, 300);
    const add = vi.spyOn(Queue.prototype, "add");
    const validate = vi.spyOn(probe.input, "safeParse");
    cleanups.push(async () => validate.mockRestore());
    try {
      expect(await q.enqueue(probe, { id: "hot" })).toBe("added");
      // A fact past its refresh time: every request that reads it asks again until the new value arrives.
      for (let i = 0; i < 20; i++) expect(await q.enqueue(probe, { id: "hot" })).toBe("deduplicated");
      expect(add).toHaveBeenCalledTimes(1);
      expect(validate).toHaveBeenCalledTimes(1); // the repeats cost a lookup, not a validation
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await q.enqueue(probe, { id: "hot" })).toBe("deduplicated");
      expect(add).toHaveBeenCalledTimes(2);
      // The first job still waits (no worker here): BullMQ kept the subject's one job.
      expect(await queue(prefix).getJobCounts("wait")).toEqual({ wait: 1 });
    } finally {
      add.mockRestore();
    }
  });

  it("keeps one job per subject however long it waits, from any process; a new one once it is over", async () => {
    const prefix = newPrefix();
    const dedupMs = 100;
    const asks = () => enqueuer(redis, prefix, dedupMs).enqueue(probe, { id: "backlogged" });
    expect(await asks()).toBe("added");
    // Later asks from other processes (each a new Enqueuer) and past dedupMs, while the job still waits.
    await new Promise((resolve) => setTimeout(resolve, 2 * dedupMs));
    expect(await asks()).toBe("deduplicated");
    expect(await asks()).toBe("deduplicated");
    expect(await queue(prefix).getJobCounts("wait")).toEqual({ wait: 1 });

    // A worker takes it and gives up (as after its last attempt): the subject may be asked for again.
    const connection = createRedis({ url: redisUrl }, "bullmq");
    cleanups.push(() => connection.quit());
    const worker = new Worker(
      queueName(probe),
      async () => {
        throw new UnrecoverableError("provider gone");
      },
      { connection, prefix: bullPrefix(prefix) },
    );
    cleanups.push(() => worker.close());
    await vi.waitFor(async () => expect(await queue(prefix).getJobCounts("failed")).toEqual({ failed: 1 }), {
      timeout: 5_000,
      interval: 20,
    });
    expect(await asks()).toBe("added");
  });

  it("makes one job per subject", async () => {
    const prefix = newPrefix();
    const q = enqueuer(await requestPath(), prefix);
    const results = await Promise.all(["a", "b", "c"].map((id) => q.enqueue(probe, { id })));
    expect(results).toEqual(["added", "added", "added"]);
    const jobs = await queue(prefix).getWaiting();
    expect(jobs.map((job) => job.data.id).sort()).toEqual(["a", "b", "c"]);
  });

  it("starts the adds a batch per turn of the event loop, never all of a burst at once", async () => {
    const prefix = newPrefix();
    const q = enqueuer(await requestPath(), prefix);
    const add = vi.spyOn(Queue.prototype, "add");
    try {
      const ids = Array.from({ length: 100 }, (_, i) => `burst-${i}`);
      const results = Promise.all(ids.map((id) => q.enqueue(probe, { id })));
      expect(add).not.toHaveBeenCalled();
      const started: number[] = [];
      for (let turn = 0; turn < 4; turn++) {
        await new Promise((resolve) => setImmediate(resolve));
        started.push(add.mock.calls.length);
      }
      expect(started).toEqual([32, 64, 96, 100]);
      expect(await results).toEqual(ids.map(() => "added"));
      expect(await queue(prefix).getJobCounts("wait")).toEqual({ wait: 100 });
    } finally {
      add.mockRestore();
    }
  });

  it("fails invalid input without a job", async () => {
    const prefix = newPrefix();
    const q = enqueuer(await requestPath(), prefix);
    expect(await q.enqueue(probe, { id: "" })).toBe("failed");
    expect(await q.enqueue(probe, { id: "x", weight: "heavy" })).toBe("failed");
    expect(await q.enqueue(probe, { id: 42 })).toBe("failed");
    expect(await q.enqueue(probe, null)).toBe("failed"); // no subject at all
    // Nothing reached Redis: not even the queue's keys.
    expect(await redis.keys(`${prefix}:*`)).toEqual([]);
    expect(await queue(prefix).getJobCounts("wait", "delayed")).toEqual({ wait: 0, delayed: 0 });
  });

  it("fails, without throwing and at once, when Redis becomes unreachable", async () => {
    const prefix = newPrefix();
    const proxy = await tcpProxy();
    const q = enqueuer(await requestPath(proxy.url), prefix);
    expect(await q.enqueue(probe, { id: "before" })).toBe("added");

    await proxy.close(); // Redis is gone for this client
    const started = performance.now();
    const results = await Promise.all([
      q.enqueue(probe, { id: "during-1" }),
      q.enqueue(probe, { id: "during-2" }),
      // A call that shared a failed add failed too: it is not counted as deduplicated.
      q.enqueue(probe, { id: "during-2" }),
    ]);
    expect(results).toEqual(["failed", "failed", "failed"]);
    expect(performance.now() - started).toBeLessThan(500);
    // close() does not hang on the outage either.
    await q.close();
    expect((await queue(prefix).getWaiting()).map((job) => job.data.id)).toEqual(["before"]);
  });

  it("close() waits for the adds in flight", async () => {
    const prefix = newPrefix();
    const q = new Enqueuer({ connection: await requestPath(), keyPrefix: prefix });
    const pending = q.enqueue(probe, { id: "in-flight" });
    await q.close();
    expect(await pending).toBe("added");
    expect(await queue(prefix).getJobCounts("wait")).toEqual({ wait: 1 });
  });
});

/** A TCP proxy to the test Redis; close() drops every connection and stops listening. */
async function tcpProxy(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    const target = connect(redisPort, "127.0.0.1");
    for (const s of [socket, target]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        socket.destroy();
        target.destroy();
      });
    }
    socket.pipe(target);
    target.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
    return closed;
  };
  cleanups.push(close);
  const address = server.address();
  return { url: `redis://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`, close };
}
