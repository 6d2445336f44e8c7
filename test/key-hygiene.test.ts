import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheKeys } from "@gatehouse/decision-cache";
import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { createRedis, type Redis } from "@gatehouse/redis";
import { cleanupsAfterEach } from "@gatehouse/testing";
import { parseWorkerEnv } from "@gatehouse/worker/src/env.js";
import { type RunningWorkers, startWorkers } from "@gatehouse/worker/src/start-workers.js";
import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { body, send, testEnv, testIngress } from "./support/ingress-harness.js";
import { startRedis } from "./support/redis-server.js";
import { scanPrefix } from "./support/scan-prefix.js";

// What a session leaves in Redis. Everything Gatehouse stores itself must expire (a cache that only grows
// fills Redis, and Redis must run with noeviction for BullMQ's sake); the audit streams are capped instead,
// and BullMQ's keys follow its own retention (removeOnComplete / removeOnFail).

const redisUrl = inject("redisUrl");
const suffix = randomUUID().slice(0, 8);
const silent = pino({ level: "silent" });

let redis: Redis;
let dns: StubDnsServer;
beforeAll(async () => {
  redis = createRedis({ url: redisUrl }, "bullmq");
  dns = await startStubDnsServer({ [`mx-${suffix}.example`]: { mx: [[10, `mx.mx-${suffix}.example`]] } });
});
afterAll(async () => {
  await dns?.close();
  await redis?.quit();
});

// Cleanups run in reverse order of registration, whatever the test did.
const cleanups = cleanupsAfterEach();

function workerSource(url: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: url,
    GATEHOUSE_KEY_PREFIX: prefix,
    LOG_LEVEL: "silent",
    GATEHOUSE_DNS_SERVERS: dns.address,
    GATEHOUSE_MX_TIMEOUT_MS: "500",
  };
}

/**
 * A key's family: its variable parts (subjects, interceptor ids, job ids) masked, so the failure message
 * names each kind of key once: `v1:fact:email-domain.v1:*`, `v1:answer:*`, `{bull}:enrich.x:<n>:lock`.
 */
function familyOf(prefix: string, key: string): string {
  const parts = key.slice(prefix.length + 1).split(":");
  const [root, kind, ...more] = parts;
  if (root === "v1" && kind === "fact") return `v1:fact:${more[0]}:*`;
  if (root === "v1" && kind === "answer") return "v1:answer:*";
  if (root === "{bull}" && more[0] === "de") return `{bull}:${kind}:de:*`;
  return parts.map((part) => (/^\d+$/.test(part) ? "<n>" : part)).join(":");
}

describe("the cache's own keys", () => {
  const AUDIT_MAXLEN = 100; // the smallest allowed, so a short burst shows the cap at work

  it("all carry TTLs after a session; the audit streams are capped; BullMQ's keys are its own", async () => {
    const prefix = `kh${randomUUID().slice(0, 8)}`;
    const keys = cacheKeys(prefix);
    const source = workerSource(redisUrl, prefix); // every enrichment, warm on (the defaults)
    const running: RunningWorkers = await startWorkers(parseWorkerEnv(source), silent);
    cleanups.push(() => running.close());
    const app: FastifyInstance = await testIngress(
      testEnv(redisUrl, { GATEHOUSE_KEY_PREFIX: prefix, GATEHOUSE_AUDIT_MAXLEN: String(AUDIT_MAXLEN) }),
    );
    cleanups.push(() => app.close());
    cleanups.push(async () => {
      for (const name of ["email-domain", "ip-reputation", "user-claims"]) {
        const queue = new Queue(`enrich.${name}`, { connection: redis, prefix: bullPrefix(prefix) });
        await queue.obliterate({ force: true }).catch(() => {});
        await queue.close();
      }
    });

    // A short, realistic session: the four triggers, misses filled by the workers, a warmed hit, a repeat
    // and a test request.
    const newDomain = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: `someone@mx-${suffix}.example` }),
    );
    expect(newDomain.answer).toEqual({ decision: "ALLOW" });
    const disposable = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "someone@mailinator.com" }),
    );
    expect(disposable.answer.decision).toBe("DENY");
    const session = await send(app, "/pre-session-creation", body("PRE_SESSION_CREATION"));
    expect(session.answer.decision).toBe("ALLOW");
    const invitation = await send(app, "/pre-user-invitation", body("PRE_USER_INVITATION"));
    expect(invitation.answer).toEqual({ decision: "ALLOW" });
    const id = `msg_kh${suffix}`;
    const m2m = await send(app, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION"), { id });
    const repeat = await send(app, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION"), { id });
    expect(repeat.answer).toEqual(m2m.answer);
    const test = await send(app, "/pre-signup", {
      ...body("PRE_SIGNUP_NEW_USER", { user_email: `tester@mx-${suffix}.example` }),
      gatehouse_test: true,
    });
    expect(test.answer).toEqual({ decision: "ALLOW" });

    // Then enough audit batches (one per flush, a few ms apart) to pass the cap on both streams.
    const entriesAdded = async (stream: string) => {
      const info = (await redis.xinfo("STREAM", stream)) as unknown[];
      return Number(info[info.indexOf("entries-added") + 1]);
    };
    const enough = 2 * AUDIT_MAXLEN + 30;
    for (let round = 0; round < 3 * enough; round++) {
      await Promise.all([
        send(app, "/pre-m2m-token-creation", body("PRE_M2M_TOKEN_CREATION")),
        send(app, "/pre-m2m-token-creation", { ...body("PRE_M2M_TOKEN_CREATION"), gatehouse_test: true }),
      ]);
      await sleep(21); // past the writer's 20 ms flush: one batch per round
      if (round % 20 === 19) {
        const added = await Promise.all([keys.auditStream, keys.testAuditStream].map(entriesAdded));
        if (Math.min(...added) >= enough) break;
      }
    }

    // Each enrichment's fact is cached by now (a slow machine may have answered before the worker did).
    const facts = [
      keys.fact("email-domain", 1, `mx-${suffix}.example`),
      keys.fact("ip-reputation", 2, "198.51.100.42"),
      keys.fact("user-claims", 1, "org_93418204671239864:usr_93418238346728951"),
    ];
    await vi.waitFor(async () => expect(await redis.exists(...facts)).toBe(facts.length), { timeout: 5_000 });

    await app.close();
    await running.close();

    const found = await scanPrefix(redis, prefix);
    const families = new Map<string, { count: number; type: string; ttl: string }>();
    const untimed: string[] = [];
    for (const { key, type, pttl } of found) {
      const family = familyOf(prefix, key);
      const bull = key.startsWith(`${bullPrefix(prefix)}:`);
      const ttl = bull ? "BullMQ" : type === "stream" ? "capped stream" : pttl > 0 ? "TTL" : "NO TTL";
      const entry = families.get(family) ?? { count: 0, type, ttl };
      entry.count++;
      if (ttl === "NO TTL") entry.ttl = ttl;
      families.set(family, entry);
      if (ttl === "NO TTL") untimed.push(family);
    }
    const report = [...families]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([family, { count, type, ttl }]) => `  ${prefix}:${family}  ×${count}  ${type}  ${ttl}`)
      .join("\n");
    expect([...new Set(untimed)], `key families under ${prefix}:\n${report}`).toEqual([]);

    // What the session must have left: the facts of each enrichment, the claimed ids with their answers, the
    // warm marker, the workers' word that they run.
    expect([...families.keys()]).toEqual(
      expect.arrayContaining([
        "v1:fact:email-domain.v1:*",
        "v1:fact:ip-reputation.v2:*",
        "v1:fact:user-claims.v1:*",
        "v1:answer:*",
        "v1:warm:email-domain.v1",
        "v1:workers:email-domain",
        "v1:audit",
        "v1:audit:test",
      ]),
    );
    // Only the audit streams are streams, and nothing outside v1: and {bull}: is Gatehouse's.
    expect(
      found
        .filter((e) => e.type === "stream" && !e.key.startsWith(`${bullPrefix(prefix)}:`))
        .map((e) => e.key)
        .sort(),
    ).toEqual([keys.auditStream, keys.testAuditStream].sort());
    expect([...families.keys()].filter((f) => !f.startsWith("v1:") && !f.startsWith("{bull}:"))).toEqual([]);

    // Both audit streams exist and are capped: trimmed below what was added, near MAXLEN (approximate).
    for (const stream of [keys.auditStream, keys.testAuditStream]) {
      const length = await redis.xlen(stream);
      const added = await entriesAdded(stream);
      expect(added, stream).toBeGreaterThanOrEqual(enough);
      expect(length, stream).toBeGreaterThan(0);
      expect(length, stream).toBeLessThan(added);
      expect(length, stream).toBeLessThanOrEqual(2 * AUDIT_MAXLEN);
    }
  });
});

describe("Redis' eviction policy", () => {
  it("the worker warns at start when maxmemory-policy is not noeviction", async () => {
    // The harness passes --maxmemory-policy noeviction first; a later argument wins.
    const server = await startRedis({ args: ["--maxmemory-policy", "allkeys-lru"] });
    cleanups.push(() => server.stop());
    const client = createRedis({ url: server.url }, "bullmq");
    cleanups.push(() => client.quit());
    expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "allkeys-lru"]);

    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        callback();
      },
    });
    const log = pino({ level: "info" }, destination);
    const source = {
      ...workerSource(server.url, `kh${randomUUID().slice(0, 8)}`),
      GATEHOUSE_ENRICHMENTS: "ip-reputation",
      GATEHOUSE_WARM: "false",
    };
    const running = await startWorkers(parseWorkerEnv(source), log);
    await running.close();

    const warnings = lines
      .map((line) => JSON.parse(line) as { level: number; msg: string; policy?: string })
      .filter((line) => line.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        policy: "allkeys-lru",
        msg: "Redis maxmemory-policy is not noeviction: queued jobs may be evicted under memory pressure",
      }),
    ]);
  });

  it("and says nothing with noeviction (the shared test Redis)", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const source = {
      ...workerSource(redisUrl, `kh${randomUUID().slice(0, 8)}`),
      GATEHOUSE_ENRICHMENTS: "ip-reputation",
      GATEHOUSE_WARM: "false",
    };
    const running = await startWorkers(parseWorkerEnv(source), pino({ level: "warn" }, destination));
    await running.close();
    expect(lines).toEqual([]);
  });
});
