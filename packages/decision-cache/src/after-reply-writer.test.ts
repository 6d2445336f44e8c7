import { randomUUID } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createRedis, type Redis, whenReady } from "@gatehouse/redis";
import { cleanupsAfterEach, testRedis } from "@gatehouse/testing";
import { describe, expect, inject, it, vi } from "vitest";
import {
  type AfterReplyEntry,
  AfterReplyWriter,
  type AfterReplyWriterOptions,
} from "./after-reply-writer.js";
import { type CacheKeys, cacheKeys } from "./keys.js";
import { packRecords, WRITE_SCRIPT } from "./write-scripts.js";

const redisUrl = inject("redisUrl");
const redisPort = Number(new URL(redisUrl).port);
const redis = testRedis();
// The writer runs on the ingress' fail-fast connection.
const requestPath = testRedis("request-path");
const cleanups = cleanupsAfterEach();

function newKeys(): CacheKeys {
  const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
  cleanups.push(async () => {
    const found = await redis.keys(`${keys.prefix}:*`);
    if (found.length > 0) await redis.del(...found);
  });
  return keys;
}

function writer(keys: CacheKeys, options: AfterReplyWriterOptions = {}, client = requestPath) {
  const created = new AfterReplyWriter(client, keys, options);
  cleanups.push(() => created.close(50));
  return created;
}

const audit = (i: number, test = false): AfterReplyEntry => ({ audit: { i, decision: "ALLOW" }, test });

/** Each stream entry's packed records, in order. */
async function batches(stream: string): Promise<unknown[][]> {
  const entries = await redis.xrange(stream, "-", "+");
  return entries.map(([, fields]) => {
    expect(fields[0]).toBe("records");
    return JSON.parse(fields[1]!) as unknown[];
  });
}

/** A client that can never connect (nothing listens on port 1), with its reconnect errors swallowed. */
function unreachable(): Redis {
  const client = createRedis({ url: "redis://127.0.0.1:1" }, "request-path");
  client.on("error", () => {});
  cleanups.push(async () => client.disconnect());
  return client;
}

describe("AfterReplyWriter batching", () => {
  it("writes the audit records of a burst as one stream entry holding a JSON array", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 20 });
    for (let i = 0; i < 7; i++) w.push(audit(i));
    expect(await redis.xlen(keys.auditStream)).toBe(0); // nothing is written synchronously
    await vi.waitFor(async () => expect(await redis.xlen(keys.auditStream)).toBe(1), {
      timeout: 1_000,
      interval: 5,
    });
    expect(await batches(keys.auditStream)).toEqual([
      Array.from({ length: 7 }, (_, i) => ({ i, decision: "ALLOW" })),
    ]);
    expect(await redis.exists(keys.testAuditStream)).toBe(0);
  });

  it("stores each answer in the claim its read made, keeping the claim's TTL; never where no claim is", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 1_000 });
    const answer = (id: string) => ({
      answer: { interceptorId: id, json: `{"decision":"ALLOW","id":"${id}"}` },
      audit: { id },
      test: false,
    });
    // What the read script leaves for a first sight: an empty claim, with the idempotency TTL.
    await redis.set(keys.idempotency("a"), "", "PX", 5_000);
    await redis.set(keys.idempotency("b"), "", "PX", 5_000);
    w.push(answer("a"));
    w.push(answer("b"));
    w.push(answer("c")); // its claim expired meanwhile: nothing to store it in
    w.push(audit(1)); // no answer to store (e.g. a repeat)
    await w.flush();

    expect(await redis.get(keys.idempotency("a"))).toBe('{"decision":"ALLOW","id":"a"}');
    expect(await redis.get(keys.idempotency("b"))).toBe('{"decision":"ALLOW","id":"b"}');
    expect(await redis.exists(keys.idempotency("c"))).toBe(0);
    for (const id of ["a", "b"]) {
      const pttl = await redis.pttl(keys.idempotency(id));
      expect(pttl).toBeGreaterThan(4_000);
      expect(pttl).toBeLessThanOrEqual(5_000);
    }
    expect(await batches(keys.auditStream)).toEqual([
      [{ id: "a" }, { id: "b" }, { id: "c" }, { i: 1, decision: "ALLOW" }],
    ]);
  });

  it("writes a batch of thousands of answers (one kept through an outage) in one go", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 60_000, maxBatch: 100_000 });
    for (let i = 0; i < 2_500; i++)
      w.push({
        answer: { interceptorId: `ic_${i}`, json: `{"n":${i}}`, claim: true },
        audit: { i },
        test: false,
      });
    await w.flush();
    expect(await redis.get(keys.idempotency("ic_0"))).toBe('{"n":0}');
    expect(await redis.get(keys.idempotency("ic_2499"))).toBe('{"n":2499}');
    expect(await redis.keys(keys.idempotency("*"))).toHaveLength(2_500);
    expect((await batches(keys.auditStream)).flat()).toHaveLength(2_500);
  });

  it("claims the ids of answers given from memory: only a first answer is stored and audited", async () => {
    const keys = newKeys();
    const repeats: unknown[] = [];
    const w = writer(keys, {
      flushMs: 1_000,
      idempotencyTtlMs: 5_000,
      onRepeat: (entry) => repeats.push(entry),
    });
    const fromMemory = (id: string): AfterReplyEntry => ({
      answer: { interceptorId: id, json: `{"decision":"ALLOW","id":"${id}"}`, claim: true },
      audit: { id },
      test: false,
    });
    // "b" was answered first elsewhere (another replica): this answer to it is a repeat.
    await redis.set(keys.idempotency("b"), '{"decision":"DENY"}');
    const a = fromMemory("a");
    const b = fromMemory("b");
    w.push(a);
    w.push(b);
    await w.flush();

    expect(await redis.get(keys.idempotency("a"))).toBe('{"decision":"ALLOW","id":"a"}');
    const pttl = await redis.pttl(keys.idempotency("a"));
    expect(pttl).toBeGreaterThan(4_000);
    expect(pttl).toBeLessThanOrEqual(5_000);
    expect(await redis.get(keys.idempotency("b"))).toBe('{"decision":"DENY"}');
    expect(await batches(keys.auditStream)).toEqual([[{ id: "a" }]]);
    expect(repeats).toEqual([b]);
  });

  it("cuts each repeat's record out of its stream's packed records, first, middle or last alike", async () => {
    const keys = newKeys();
    const repeats: unknown[] = [];
    const w = writer(keys, { flushMs: 1_000, onRepeat: (entry) => repeats.push(entry) });
    // Text a record may hold: newlines, commas and brackets inside strings, characters beyond ASCII.
    const entry = (id: string, test: boolean): AfterReplyEntry => ({
      answer: { interceptorId: id, json: `{"id":"${id}"}`, claim: true },
      audit: { id, note: `line\n,[${id}],\n\u00e9\u{1f600}` },
      test,
    });
    const ids = ["a1", "a2", "a3", "a4", "a5", "t1", "t2", "t3"];
    // Answered first elsewhere: the audit stream's first, middle and last; every test record but one.
    const answeredElsewhere = ["a1", "a3", "a5", "t1", "t3"];
    for (const id of answeredElsewhere) await redis.set(keys.idempotency(id), "2");
    const entries = ids.map((id) => entry(id, id.startsWith("t")));
    // Interleaved, with a record that has no answer between them.
    for (const [index, e] of entries.entries()) {
      w.push(e);
      if (index === 1) w.push({ audit: { id: "unverified" }, test: false });
    }
    await w.flush();

    const auditOf = (id: string) =>
      (entries.find((e) => e.answer?.interceptorId === id) as AfterReplyEntry).audit;
    expect(await batches(keys.auditStream)).toEqual([[auditOf("a2"), { id: "unverified" }, auditOf("a4")]]);
    // Byte for byte what an entry without repeats would hold.
    const [entry0] = await redis.xrange(keys.auditStream, "-", "+");
    expect(entry0?.[1][1]).toBe(
      packRecords(
        [auditOf("a2"), { id: "unverified" }, auditOf("a4")].map((r) => JSON.stringify(r)),
      ).toString(),
    );
    expect(await batches(keys.testAuditStream)).toEqual([[auditOf("t2")]]);
    for (const id of ids)
      expect(await redis.get(keys.idempotency(id))).toBe(
        answeredElsewhere.includes(id) ? "2" : `{"id":"${id}"}`,
      );
    expect(repeats.map((e) => (e as AfterReplyEntry).answer?.interceptorId)).toEqual(answeredElsewhere);
  });

  it("writes no stream entry when every record of it was a repeat's", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 1_000 });
    await redis.set(keys.idempotency("r"), "2");
    w.push({
      answer: { interceptorId: "r", json: "{}", claim: true },
      audit: { id: "r" },
      test: false,
    });
    w.push({ audit: { id: "test" }, test: true });
    await w.flush();
    expect(await redis.exists(keys.auditStream)).toBe(0);
    expect(await batches(keys.testAuditStream)).toEqual([[{ id: "test" }]]);
  });

  it("retries a batch that never reached Redis whole: an id claimed meanwhile elsewhere is a repeat", async () => {
    const keys = newKeys();
    const { client, reopen } = await redisAway();
    let errors = 0;
    const repeats: unknown[] = [];
    const w = writer(
      keys,
      { flushMs: 10, onError: () => errors++, onRepeat: (e) => repeats.push(e) },
      client,
    );
    const entry: AfterReplyEntry = {
      answer: { interceptorId: "x", json: "{}", claim: true },
      audit: { id: "x" },
      test: false,
    };
    w.push(entry);
    await vi.waitFor(() => expect(errors).toBeGreaterThanOrEqual(1), { timeout: 1_000, interval: 5 });
    // Nothing of the batch ran (no connection): meanwhile another replica answers "x" first, and audits it.
    await redis.set(keys.idempotency("x"), "6");
    await reopen();
    await vi.waitFor(() => expect(repeats).toEqual([entry]), { timeout: 3_000, interval: 20 });
    expect(await redis.get(keys.idempotency("x"))).toBe("6");
    expect(await redis.exists(keys.auditStream)).toBe(0);
  });

  it("writes a batch retried after its reply was lost once: the script runs whole and finds its own claims", async () => {
    const keys = newKeys();
    const proxy = await tcpProxy(redisPort);
    cleanups.push(() => proxy.stop());
    const client = createRedis(
      { url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 50 },
      "request-path",
    );
    client.on("error", () => {});
    cleanups.push(async () => client.disconnect());
    await whenReady(client);
    let errors = 0;
    const w = writer(keys, { flushMs: 10, onError: () => errors++ }, client);
    // The script is in Redis' cache, so the held attempts run it (a NOSCRIPT reply would be held instead).
    await redis.script("LOAD", WRITE_SCRIPT);
    // Redis runs what it receives; its replies wait in the proxy until the client has timed out (twice).
    proxy.holdReplies();
    w.push({
      answer: { interceptorId: "y", json: '{"decision":"ALLOW"}', claim: true },
      audit: { id: "y" },
      test: false,
    });
    w.push({
      answer: { interceptorId: "z", json: "{}", claim: true },
      audit: { id: "z" },
      test: false,
    });
    await vi.waitFor(() => expect(errors).toBeGreaterThanOrEqual(2), { timeout: 2_000, interval: 5 });
    proxy.releaseReplies();
    await w.close(2_000);

    expect((await batches(keys.auditStream)).flat()).toEqual([{ id: "y" }, { id: "z" }]);
    expect(await redis.get(keys.idempotency("y"))).toBe('{"decision":"ALLOW"}');
    expect(await redis.get(keys.idempotency("z"))).toBe("{}");
  });

  it("sends test requests' records to the test stream only", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 1_000 });
    w.push(audit(1));
    w.push(audit(2, true));
    w.push(audit(3));
    w.push(audit(4, true));
    await w.flush();
    expect(await batches(keys.auditStream)).toEqual([
      [
        { i: 1, decision: "ALLOW" },
        { i: 3, decision: "ALLOW" },
      ],
    ]);
    expect(await batches(keys.testAuditStream)).toEqual([
      [
        { i: 2, decision: "ALLOW" },
        { i: 4, decision: "ALLOW" },
      ],
    ]);
  });

  it("writes only the test stream when every record is a test", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 1_000 });
    w.push(audit(1, true));
    await w.flush();
    expect(await redis.exists(keys.auditStream)).toBe(0);
    expect(await redis.xlen(keys.testAuditStream)).toBe(1);
  });

  it("flushes at once when maxBatch entries wait, without waiting for flushMs", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 60_000, maxBatch: 3 });
    const started = performance.now();
    for (let i = 0; i < 3; i++) w.push(audit(i));
    await vi.waitFor(async () => expect(await redis.xlen(keys.auditStream)).toBe(1), {
      timeout: 1_000,
      interval: 5,
    });
    expect(performance.now() - started).toBeLessThan(500);

    // Below maxBatch, the next entries wait for the (long) timer...
    w.push(audit(3));
    w.push(audit(4));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await redis.xlen(keys.auditStream)).toBe(1);
    // ...or for close(), which flushes them.
    await w.close();
    expect((await batches(keys.auditStream)).map((batch) => batch.length)).toEqual([3, 2]);
  });

  it("sends a full batch at the next turn of the event loop, not inside the push that filled it", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 60_000, maxBatch: 3 });
    const send = vi.spyOn(requestPath as unknown as { gatehouseWrite: () => unknown }, "gatehouseWrite");
    cleanups.push(async () => send.mockRestore());
    for (let i = 0; i < 3; i++) w.push(audit(i));
    // Answers decided in the same turn are written before the batch is built.
    expect(send).not.toHaveBeenCalled();
    await vi.waitFor(() => expect(send).toHaveBeenCalled(), { timeout: 1_000, interval: 1 });
    await vi.waitFor(async () => expect(await redis.xlen(keys.auditStream)).toBe(1), {
      timeout: 1_000,
      interval: 5,
    });
    await w.close();
  });

  it("sends a backlog maxBatch entries per script, one batch right after the other", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 60_000, maxBatch: 3 });
    for (let i = 0; i < 10; i++) w.push(audit(i));
    // Each script writes one stream entry holding its batch: three full ones without waiting for the timer…
    await vi.waitFor(async () => expect(await redis.xlen(keys.auditStream)).toBe(3), {
      timeout: 1_000,
      interval: 5,
    });
    expect((await batches(keys.auditStream)).map((batch) => batch.length)).toEqual([3, 3, 3]);
    // …and the last entry, below maxBatch, waits for the timer (or close).
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await redis.xlen(keys.auditStream)).toBe(3);
    await w.close();
    const written = await batches(keys.auditStream);
    expect(written.map((batch) => batch.length)).toEqual([3, 3, 3, 1]);
    expect(written.flat()).toEqual(Array.from({ length: 10 }, (_, i) => ({ i, decision: "ALLOW" })));
  });

  it("caps the audit stream with MAXLEN ~", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 1_000, auditMaxLen: 10 });
    for (let i = 0; i < 300; i++) {
      w.push(audit(i));
      await w.flush();
    }
    const length = await redis.xlen(keys.auditStream);
    // Approximate trimming removes whole macro nodes (100 entries by default): at most one node over the cap.
    expect(length).toBeLessThanOrEqual(110);
    expect(length).toBeGreaterThanOrEqual(10);
  });

  it("close() flushes what is buffered; flush() with nothing buffered does nothing", async () => {
    const keys = newKeys();
    const w = writer(keys, { flushMs: 60_000 });
    await w.flush();
    expect(await redis.exists(keys.auditStream)).toBe(0);
    w.push(audit(1));
    w.push(audit(2, true));
    await w.close();
    expect(await batches(keys.auditStream)).toEqual([[{ i: 1, decision: "ALLOW" }]]);
    expect(await batches(keys.testAuditStream)).toEqual([[{ i: 2, decision: "ALLOW" }]]);
  });
});

describe("AfterReplyWriter while Redis is unreachable", () => {
  it("calls onError, keeps the records, and never rejects", async () => {
    const keys = newKeys();
    const errors: unknown[] = [];
    const drops: number[] = [];
    const w = writer(
      keys,
      {
        flushMs: 60_000,
        maxBuffered: 3,
        onError: (error) => errors.push(error),
        onDrop: (n) => drops.push(n),
      },
      unreachable(),
    );
    w.push(audit(1));
    w.push(audit(2));
    await expect(w.flush()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/enableOfflineQueue|Connection|ECONNREFUSED/);
    expect(drops).toEqual([]);

    // The two records were kept: two more make four, one over maxBuffered, and the oldest is dropped.
    w.push(audit(3));
    expect(drops).toEqual([]);
    w.push(audit(4));
    expect(drops).toEqual([1]);
  });

  it("drops the oldest entries beyond maxBuffered and reports each overflow to onDrop", () => {
    const keys = newKeys();
    const drops: number[] = [];
    const w = writer(
      keys,
      { flushMs: 60_000, maxBatch: 1_000, maxBuffered: 5, onDrop: (n) => drops.push(n), onError: () => {} },
      unreachable(),
    );
    for (let i = 0; i < 8; i++) w.push(audit(i));
    expect(drops).toEqual([1, 1, 1]);
  });

  it("close() gives up after its timeout while Redis stays away", async () => {
    const keys = newKeys();
    let errors = 0;
    const w = writer(keys, { flushMs: 60_000, onError: () => errors++ }, unreachable());
    w.push(audit(1));
    const started = performance.now();
    await w.close(120);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(600);
    expect(errors).toBeGreaterThanOrEqual(2); // it kept trying
  });

  it("writes the kept records once Redis is reachable again, in order", async () => {
    const keys = newKeys();
    const { client, reopen } = await redisAway();
    let errors = 0;
    const w = writer(keys, { flushMs: 10, onError: () => errors++ }, client);
    w.push(audit(1));
    w.push(audit(2));
    await vi.waitFor(() => expect(errors).toBeGreaterThanOrEqual(1), { timeout: 1_000, interval: 5 });
    w.push(audit(3));
    expect(await redis.exists(keys.auditStream)).toBe(0);

    await reopen();
    await vi.waitFor(
      async () => {
        const records = (await batches(keys.auditStream)).flat();
        expect(records).toEqual([1, 2, 3].map((i) => ({ i, decision: "ALLOW" })));
      },
      { timeout: 3_000, interval: 20 },
    );
  });
});

/** A client of a port where nothing listens yet; `reopen()` opens a proxy to the test Redis on it. */
async function redisAway() {
  const proxy = await tcpProxy(redisPort);
  cleanups.push(() => proxy.stop());
  const port = proxy.port;
  await proxy.stop();
  const client = createRedis({ url: `redis://127.0.0.1:${port}` }, "request-path");
  client.on("error", () => {});
  cleanups.push(async () => client.disconnect());
  return { client, reopen: () => proxy.listen(port) };
}

/**
 * A TCP proxy to the test Redis that can stop listening (connections refused) and listen again, and hold
 * Redis' replies back for a while.
 */
async function tcpProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  const targets = new Set<Socket>();
  let holding = false;
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const created = createServer((socket) => {
        const target = connect(targetPort, "127.0.0.1");
        for (const s of [socket, target]) {
          sockets.add(s);
          s.on("error", () => {});
          s.on("close", () => {
            sockets.delete(s);
            socket.destroy();
            target.destroy();
          });
        }
        socket.pipe(target);
        target.pipe(socket);
        targets.add(target);
        target.on("close", () => targets.delete(target));
        if (holding) target.pause();
      });
      created.once("error", reject);
      created.listen(port, "127.0.0.1", () => {
        server = created;
        const address = created.address();
        resolve(typeof address === "object" && address ? address.port : port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      const current = server;
      server = undefined;
      if (!current) return resolve();
      current.close(() => resolve());
    });
  const port = await listen(0);
  /** Redis' replies stay in the proxy (nothing is lost, nothing reaches the client) until released. */
  const holdReplies = () => {
    holding = true;
    for (const target of targets) target.pause();
  };
  const releaseReplies = () => {
    holding = false;
    for (const target of targets) target.resume();
  };
  return { port, listen, stop, holdReplies, releaseReplies };
}
