import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { cacheKeys } from "@gatehouse/decision-cache";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildRequestBody } from "../apps/cli/src/build-request.js";
import { sendInterceptorRequest } from "../apps/cli/src/send-request.js";
import { writeAuditBatches } from "../apps/cli/src/testing/audit-records.js";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { assertBuilt, INGRESS, WORKER } from "./support/artifacts.js";
import { waitUntilServing } from "./support/built-apps.js";
import { runBuiltCli } from "./support/built-cli.js";
import { spawnTs, type TsProcess } from "./support/child-process.js";
import { SECRET } from "./support/ingress-harness.js";
import { startRedisSentinels } from "./support/redis-sentinel.js";
import { freePort, type RedisServer, startRedis } from "./support/redis-server.js";
import { makeTlsFiles, type TlsFiles } from "./support/tls-files.js";

// A Redis that takes TLS connections only and requires a password, as managed ones do: the built ingress,
// worker and CLI reach it from REDIS_URL=rediss://:<password>@host:port, trusting its certificate authority
// through Node's own NODE_EXTRA_CA_CERTS.

const password = `pw-${randomUUID().slice(0, 8)}`;
const prefix = `tls${randomUUID().slice(0, 8)}`;
const keys = cacheKeys(prefix);

let tls: TlsFiles;
let server: RedisServer;
let redis: Redis;
let dns: StubDnsServer;
let ingress: TsProcess | undefined;
let worker: TsProcess | undefined;
let url = "";
let redisUrl = "";

beforeAll(async () => {
  tls = await makeTlsFiles();
  server = await startRedis({ tls, args: ["--requirepass", password] });
  redisUrl = `rediss://:${password}@127.0.0.1:${server.port}`;
  redis = new Redis(redisUrl, { tls: { ca: readFileSync(tls.ca) }, maxRetriesPerRequest: null });
  dns = await startStubDnsServer({});
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const common = {
    REDIS_URL: redisUrl,
    NODE_EXTRA_CA_CERTS: tls.ca,
    SCALEKIT_INTERCEPTOR_SECRET: SECRET,
    GATEHOUSE_KEY_PREFIX: prefix,
    LOG_LEVEL: "warn",
    NODE_ENV: "production",
  };
  assertBuilt();
  ingress = spawnTs(INGRESS, [], { ...common, PORT: String(port), HOST: "127.0.0.1" });
  worker = spawnTs(WORKER, [], {
    ...common,
    GATEHOUSE_WORKER_PORT: "0",
    HOST: "127.0.0.1",
    GATEHOUSE_DNS_SERVERS: dns.address,
    GATEHOUSE_ENRICHMENTS: "email-domain",
  });
  await waitUntilServing({ ingress, worker, url, redis, prefix, enrichments: ["email-domain"] });
}, 45_000);

afterAll(async () => {
  await Promise.allSettled([ingress?.kill(), worker?.kill()]);
  await dns?.close();
  redis?.disconnect();
  await server?.stop();
});

describe("on a Redis that requires TLS and a password (REDIS_URL=rediss://…)", () => {
  it("the ingress denies from the worker's fact, and the CLI lists the decision; untrusted, the CLI names the certificate", async () => {
    const sent = await sendInterceptorRequest({
      url,
      secret: SECRET,
      trigger: "PRE_SIGNUP",
      body: buildRequestBody("PRE_SIGNUP", { email: "someone@mailinator.com" }),
      timeoutMs: 5_000,
    });
    // The policy's DENY: the worker's fact, written and announced through the TLS Redis, read by the ingress.
    expect(sent.answer).toMatchObject({
      decision: "DENY",
      error: { message: expect.stringMatching(/disposable/) },
    });
    expect(await redis.exists(keys.fact("email-domain", 1, "mailinator.com"))).toBe(1);
    // The audit record is written just after the answer.
    await vi.waitFor(async () => expect(await redis.xlen(keys.testAuditStream)).toBe(1), { timeout: 5_000 });

    const env = { REDIS_URL: redisUrl, GATEHOUSE_KEY_PREFIX: prefix };
    // `gatehouse send`'s bodies are marked as tests: their records go to the test stream.
    const listed = await runBuiltCli(["decisions", "--test", "--json"], {
      ...env,
      NODE_EXTRA_CA_CERTS: tls.ca,
    });
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      decisions: [{ trigger: "PRE_SIGNUP", decision: "DENY", reason: "email.disposable" }],
    });

    const untrusted = await runBuiltCli(["decisions", "--json"], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate/);
    expect(untrusted.stderr).not.toContain(password);
  });
});

describe("behind Sentinels that require TLS and a password (REDIS_SENTINELS=rediss://…)", () => {
  it("the CLI finds the master through them and reads its audit; with a wrong password it says so", async () => {
    const group = await startRedisSentinels({ tls, password });
    const master = new Redis(group.master.port, "127.0.0.1", { password, tls: { ca: readFileSync(tls.ca) } });
    try {
      const sentinelKeys = cacheKeys(`s${randomUUID().slice(0, 8)}`);
      await writeAuditBatches(master, sentinelKeys, [
        [{ at: Date.now(), interceptorId: "ic_sentinel", decision: "DENY" }],
      ]);
      const env = {
        // The master group's name as REDIS_URL's host, with the master's password and TLS.
        REDIS_URL: `rediss://:${password}@${group.name}`,
        REDIS_SENTINELS: group.sentinels.join(","),
        GATEHOUSE_KEY_PREFIX: sentinelKeys.prefix,
        NODE_EXTRA_CA_CERTS: tls.ca,
      };
      // ioredis' failover detector opens its own TLS connections to the Sentinels as the client connects; one
      // cut short by the command's quick exit printed "[ioredis] Unhandled error event" in one run of four
      // (test/faults.test.ts checks their error listener itself).
      for (let run = 0; run < 4; run++) {
        const listed = await runBuiltCli(["decisions", "--json"], env);
        expect(listed.stderr).toBe("");
        expect(listed.code).toBe(0);
        expect(JSON.parse(listed.stdout)).toMatchObject({
          decisions: [{ interceptorId: "ic_sentinel", decision: "DENY" }],
        });
      }

      const wrong = await runBuiltCli(["decisions", "--json"], {
        ...env,
        REDIS_SENTINELS: group.sentinels[0]!.replace(password, "not-the-password"),
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain("All sentinels are unreachable. Last error: WRONGPASS");
      expect(wrong.stderr).not.toContain("not-the-password");
    } finally {
      master.disconnect();
      await group.stop();
    }
  }, 30_000);
});
