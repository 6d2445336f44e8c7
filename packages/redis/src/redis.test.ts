import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, inject, it } from "vitest";
import { closeClient } from "./close-client.js";
import { createRedis, type RedisProfile } from "./create-redis.js";
import type { Redis } from "./index.js";
import { ping } from "./ping.js";
import { whenReady } from "./when-ready.js";

const redisUrl = inject("redisUrl");
const redisPort = Number(new URL(redisUrl).port);

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function client(
  url: string,
  profile: RedisProfile,
  options: { commandTimeoutMs?: number; name?: string } = {},
) {
  const created = createRedis({ url, ...options }, profile);
  created.on("error", () => {});
  cleanups.push(async () => created.disconnect());
  return created;
}

async function ready(redis: Redis): Promise<Redis> {
  await whenReady(redis);
  return redis;
}

/**
 * A TCP proxy to the test Redis that can stop forwarding (`freeze`: Redis then looks alive but answers
 * nothing), or hold Redis' replies back until `release`; `sent()` is what the client has written so far.
 */
async function freezableProxy(): Promise<{
  url: string;
  freeze(): void;
  hold(): void;
  release(): void;
  sent(): string;
}> {
  let frozen = false;
  let holding = false;
  const held: (() => void)[] = [];
  let sent = "";
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
    socket.on("data", (chunk) => {
      sent += chunk.toString("latin1");
      if (!frozen) target.write(chunk);
    });
    target.on("data", (chunk) => {
      if (frozen) return;
      if (holding) held.push(() => socket.write(chunk));
      else socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  );
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze: () => (frozen = true),
    hold: () => (holding = true),
    release: () => {
      holding = false;
      for (const write of held.splice(0)) write();
    },
    sent: () => sent,
  };
}

describe("ping", () => {
  it("is true against the test Redis", async () => {
    const redis = await ready(client(redisUrl, "request-path"));
    expect(await ping(redis)).toBe(true);
    expect(await ping(redis, 50)).toBe(true);
  });

  it("is false at once, without throwing, when nothing listens", async () => {
    const redis = client("redis://127.0.0.1:1", "request-path");
    const started = performance.now();
    await expect(ping(redis, 200)).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(250);
  });

  it("is false after its timeout, not later, when Redis stops answering", async () => {
    const proxy = await freezableProxy();
    const redis = await ready(client(proxy.url, "request-path", { commandTimeoutMs: 5_000 }));
    expect(await ping(redis, 200)).toBe(true);
    proxy.freeze();
    const started = performance.now();
    await expect(ping(redis, 150)).resolves.toBe(false);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(200);
  });

  it("is false, not an exception, when the client has been closed", async () => {
    const redis = await ready(client(redisUrl, "bullmq"));
    await redis.quit();
    await expect(ping(redis, 100)).resolves.toBe(false);
  });
});

describe("createRedis", () => {
  it("request-path: a command while disconnected rejects at once instead of queueing", async () => {
    const redis = client("redis://127.0.0.1:1", "request-path");
    const started = performance.now();
    await expect(redis.get("anything")).rejects.toThrow(/enableOfflineQueue/);
    expect(performance.now() - started).toBeLessThan(50);
  });

  it("request-path: a command Redis does not answer fails after commandTimeoutMs", async () => {
    const proxy = await freezableProxy();
    const redis = await ready(client(proxy.url, "request-path", { commandTimeoutMs: 100 }));
    expect(await redis.set("gatehouse-redis-test:unused", "1", "PX", 1_000)).toBe("OK");
    proxy.freeze();
    const started = performance.now();
    await expect(redis.get("gatehouse-redis-test:unused")).rejects.toThrow(/timed out/i);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(90);
    expect(elapsed).toBeLessThan(400);
  });

  it("bullmq: a command issued before the connection is up is queued, then answered", async () => {
    const redis = client(redisUrl, "bullmq");
    expect(redis.status).not.toBe("ready");
    expect(await redis.ping()).toBe("PONG");
  });

  // ioredis' auto-pipelining sends nothing while an earlier pipeline awaits its replies: under a burst every
  // read then waited for the whole previous batch (thousands of reads) to be answered and read back.
  it("request-path: a command goes out at once, while earlier ones still await their replies", async () => {
    const proxy = await freezableProxy();
    const redis = await ready(client(proxy.url, "request-path", { commandTimeoutMs: 5_000 }));
    proxy.hold();
    const first = redis.get("gatehouse-redis-test:first");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proxy.sent()).toContain("gatehouse-redis-test:first");
    const second = redis.get("gatehouse-redis-test:second");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(proxy.sent()).toContain("gatehouse-redis-test:second");
    proxy.release();
    expect(await Promise.all([first, second])).toEqual([null, null]);
  });

  it("sets the options each profile promises", () => {
    const requestPath = client(redisUrl, "request-path").options;
    expect(requestPath).toMatchObject({
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: 250,
      enableAutoPipelining: false,
      lazyConnect: false,
    });
    expect(client(redisUrl, "request-path", { commandTimeoutMs: 80 }).options.commandTimeout).toBe(80);
    expect(client(redisUrl, "subscriber").options).toMatchObject({
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });
    const bullmq = client(redisUrl, "bullmq").options;
    expect(bullmq).toMatchObject({ maxRetriesPerRequest: null, enableReadyCheck: false });
    expect(bullmq.commandTimeout).toBeUndefined();
  });

  it("reconnects quickly at first, then at most every second", () => {
    const retry = client(redisUrl, "subscriber").options.retryStrategy!;
    expect([1, 2, 3, 4, 5, 20].map((attempt) => retry(attempt))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it("names the connection after the process and profile, visible in CLIENT LIST", async () => {
    const named = await ready(client(redisUrl, "request-path", { name: "unit" }));
    const unnamed = await ready(client(redisUrl, "bullmq"));
    expect(await named.client("GETNAME")).toBe("gatehouse:unit:request-path");
    expect(await unnamed.client("GETNAME")).toBe("gatehouse:bullmq");
  });
});

describe("closeClient", () => {
  it("quits a connected client: what it sent is answered first", async () => {
    const redis = await ready(client(redisUrl, "bullmq"));
    const sent = redis.set("gatehouse-redis-test:close", "1", "PX", 1_000);
    await closeClient(redis);
    expect(await sent).toBe("OK");
    await expect.poll(() => redis.status).toBe("end");
  });

  it.each([["bullmq"], ["subscriber"], ["background"]] as const)(
    "ends a connected %s client of a Redis that stopped answering after 1 s, not waiting for QUIT's reply",
    async (profile) => {
      const proxy = await freezableProxy();
      const redis = await ready(client(proxy.url, profile));
      proxy.freeze();
      const started = performance.now();
      await closeClient(redis);
      const ms = performance.now() - started;
      expect(ms).toBeGreaterThan(900);
      expect(ms).toBeLessThan(1_500);
      await expect.poll(() => redis.status).toBe("end");
    },
  );

  it.each([["bullmq"], ["subscriber"], ["request-path"]] as const)(
    "ends a %s client that never reached Redis at once, its queued commands rejected",
    async (profile) => {
      const redis = client("redis://127.0.0.1:1", profile);
      const queued = redis.get("gatehouse-redis-test:never").then(
        () => "answered",
        () => "rejected",
      );
      const started = performance.now();
      await closeClient(redis);
      expect(performance.now() - started).toBeLessThan(100);
      expect(await queued).toBe("rejected");
      await expect.poll(() => redis.status).toBe("end");
    },
  );
});

describe("createRedis with Sentinels", () => {
  it("asks them for the master REDIS_URL's host names, with its credentials, TLS and database, and theirs", () => {
    const redis = createRedis(
      { url: "rediss://app:p%40ss@mymaster/3", sentinels: ["redis://:s3ntinel@10.0.0.1", "10.0.0.2:26380"] },
      "request-path",
    );
    redis.on("error", () => {});
    redis.disconnect();
    expect(redis.options).toMatchObject({
      name: "mymaster",
      username: "app",
      password: "p@ss",
      db: 3,
      tls: {},
      enableTLSForSentinelMode: true,
      sentinels: [
        { host: "10.0.0.1", port: 26379 },
        { host: "10.0.0.2", port: 26380 },
      ],
      sentinelPassword: "s3ntinel",
      failoverDetector: true,
      enableOfflineQueue: false,
    });
    expect(redis.options).not.toHaveProperty("sentinelTLS");
  });
});
