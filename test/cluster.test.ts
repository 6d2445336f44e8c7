import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cacheKeys, counterKeys, DecisionCache, writeFact } from "@gatehouse/decision-cache";
import { bullPrefix, factKey, queueName } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { DEFAULT_POLICY, type Policy, policySchema } from "@gatehouse/policy";
import { createRedis, getMany, logConnectionErrors, type RedisClient, whenReady } from "@gatehouse/redis";
import { createLogger } from "@gatehouse/telemetry";
import { cleanupsAfterEach } from "@gatehouse/testing";
import { parseWorkerEnv } from "@gatehouse/worker/src/env.js";
import { startWorkers } from "@gatehouse/worker/src/start-workers.js";
import { Queue } from "bullmq";
import type { FastifyInstance } from "fastify";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connectRedis } from "../apps/cli/src/cli-redis.js";
import { NetworkError } from "../apps/cli/src/errors/network-error.js";
import { writeAuditBatches } from "../apps/cli/src/testing/audit-records.js";
import { testEnv as cliEnv, runCliCollecting } from "../apps/cli/src/testing/run-cli.js";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "../packages/enrich-email-domain/src/testing/stub-dns-server.js";
import { readAudit } from "./support/audit-records.js";
import { FAIL_CLOSED_SIGNUP_POLICY } from "./support/built-apps.js";
import { runBuiltCli } from "./support/built-cli.js";
import { body, emailFact, send, testEnv, testIngress, UNKNOWN_IP } from "./support/ingress-harness.js";
import { type RedisCluster, startRedisCluster } from "./support/redis-cluster.js";
import { startTcpProxy } from "./support/tcp-proxy.js";
import { makeTlsFiles, type TlsFiles } from "./support/tls-files.js";

// The end-to-end scenarios again, on a real three-master Redis Cluster (REDIS_CLUSTER_NODES): a hit, a miss
// answered after the worker's announcement, deduplicated jobs, velocity counted once per interceptor id,
// and the fallback when the node that owns a request's keys dies.

const suffix = randomUUID().slice(0, 8);
const newDomain = `new${suffix}.example`;
const log = createLogger({ name: "cluster-test", level: "silent" });

// A miss waits for the worker's fact: an answer of "checked" shows the fact arrived, a DENY that it did not.
const WAIT_FOR_MX_POLICY = policySchema.parse({
  version: 1,
  triggers: {
    PRE_SIGNUP: {
      rules: [
        {
          name: "no-mx",
          when: { emailDomain: { mx: "absent" } },
          outcome: { decision: "DENY", reason: "mx" },
        },
      ],
      default: { decision: "ALLOW", reason: "checked" },
      onMiss: { waitMs: 1_000, afterWait: "DENY" },
    },
  },
});

let cluster: RedisCluster;
let redis: RedisClient;
let dns: StubDnsServer;
beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedis({ url: "", clusterNodes: cluster.nodes }, "bullmq");
  dns = await startStubDnsServer({ [newDomain]: { mx: [[10, `mx.${newDomain}`]] } });
}, 60_000);
afterAll(async () => {
  await dns?.close();
  await redis?.quit();
  await cluster?.stop();
});

const cleanups = cleanupsAfterEach();

// Facts are read from the cluster on every request (no copies in memory): these tests are about the read.
async function ingress(policy: Policy = DEFAULT_POLICY, nodes: readonly string[] = cluster.nodes) {
  const env = testEnv("redis://unused.invalid:6379", {
    REDIS_CLUSTER_NODES: nodes.join(","),
    GATEHOUSE_LOCAL_FACTS_MS: "0",
  });
  const app: FastifyInstance = await testIngress(env, policy);
  cleanups.push(() => app.close());
  // The ingress starts after at most 3 s even when its cluster clients are not ready yet (answering
  // fallbacks meanwhile); on a busy machine a fresh cluster can take longer: wait for /readyz, as a load
  // balancer would.
  await vi.waitFor(async () => expect((await app.inject("/readyz")).statusCode).toBe(200), {
    timeout: 20_000,
    interval: 50,
  });
  return { app, keys: cacheKeys(env.GATEHOUSE_KEY_PREFIX) };
}

/** The email-domain enrichment's workers on the cluster, under `prefix`, asking `dnsServer` for MX records. */
async function emailDomainWorkers(
  prefix: string,
  dnsServer: string,
  nodes: readonly string[] = cluster.nodes,
) {
  const source = {
    REDIS_URL: "redis://unused.invalid:6379",
    REDIS_CLUSTER_NODES: nodes.join(","),
    GATEHOUSE_KEY_PREFIX: prefix,
    LOG_LEVEL: "silent",
    GATEHOUSE_ENRICHMENTS: "email-domain",
    GATEHOUSE_WARM: "false",
    GATEHOUSE_DNS_SERVERS: dnsServer,
  };
  const running = await startWorkers(parseWorkerEnv(source), log);
  cleanups.push(() => running.close());
  return running;
}

describe("on a Redis Cluster", () => {
  it("reads many keys spread over the nodes in order (the copies in memory are read again this way)", async () => {
    const background = createRedis({ url: "", clusterNodes: cluster.nodes }, "background");
    cleanups.push(() => background.quit());
    // The background profile queues nothing while disconnected: wait until the cluster client is ready.
    await whenReady(background);
    const keys = Array.from({ length: 30 }, (_, index) => `test:get-many:${suffix}:${index}`);
    for (const [index, key] of keys.entries())
      if (index % 3 !== 0) await redis.set(key, `v${index}`, "EX", 60);
    expect(await getMany(background, keys)).toEqual(
      keys.map((_, index) => (index % 3 === 0 ? null : `v${index}`)),
    );
  });

  it("reads from full nodes (maxmemory) without claiming or counting, as on one Redis", async () => {
    const keys = cacheKeys(`m${randomUUID().slice(0, 8)}`);
    const background = createRedis({ url: "", clusterNodes: cluster.nodes }, "request-path");
    cleanups.push(() => background.quit());
    await whenReady(background);
    const cache = new DecisionCache(background, keys);
    const fact = keys.fact("email-domain", 1, "held.test");
    const counter = counterKeys(keys, "PRE_SIGNUP:ip:60", "198.51.100.7", 60, Date.now());
    await redis.set(fact, "held");
    await redis.set(counter.current, "4");
    const masters = cluster.masters.map((master) => createRedis({ url: master.url }, "bullmq"));
    cleanups.push(async () => {
      for (const master of masters) await master.config("SET", "maxmemory", "0");
      await Promise.all(masters.map((master) => master.quit()));
    });

    for (const master of masters) await master.config("SET", "maxmemory", "1");
    expect(await cache.read("ic_full", [fact], [counter])).toEqual({
      kind: "fresh",
      values: ["held"],
      counts: [[5, 0]],
      claimed: false,
    });
    for (const master of masters) await master.config("SET", "maxmemory", "0");
    expect(await redis.get(counter.current)).toBe("4");
    expect(await redis.exists(keys.idempotency("ic_full"))).toBe(0);
  });

  it("answers from cached facts spread over the nodes, and audits each decision once", async () => {
    const { app, keys } = await ingress();
    const email = ENRICHMENTS["email-domain"];
    const ip = ENRICHMENTS["ip-reputation"];
    const domains = ["trash.test", "acme.test"];
    for (const [index, domain] of domains.entries()) {
      await writeFact(redis, keys, factKey(keys, email, { domain }), emailFact(domain, index === 0), 60);
    }
    const address = "198.51.100.9";
    await writeFact(
      redis,
      keys,
      factKey(keys, ip, { ip: address }),
      { ...UNKNOWN_IP, ip: address, lists: [], listed: false },
      60,
    );
    // An interceptor id whose claim lives on another master than the IP's fact: the read really is spread.
    const ipOwner = (await cluster.ownerOf(factKey(keys, ip, { ip: address }))).port;
    let id = `ic_${randomUUID()}`;
    while ((await cluster.ownerOf(keys.idempotency(id))).port === ipOwner) id = `ic_${randomUUID()}`;

    const denied = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "a@trash.test", ip_address: address }),
    );
    expect(denied.answer.decision).toBe("DENY");
    expect(denied.answer.error?.message).toMatch(/disposable/);
    const allowed = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "b@acme.test", ip_address: address }),
      { id },
    );
    expect(allowed.answer).toEqual({ decision: "ALLOW" });
    // A repeat gets exactly the first answer (stored by the after-reply writer), and is not audited again.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const repeated = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: "b@acme.test", ip_address: address }),
      { id },
    );
    expect(repeated.answer).toEqual({ decision: "ALLOW" });

    await app.close();
    const records = await readAudit(redis, keys.auditStream);
    expect(records.map((r) => [r.decision, r.reason, r.cache])).toEqual([
      ["DENY", "email.disposable", "hit"],
      ["ALLOW", "policy.default", "hit"],
    ]);

    // `gatehouse explain` reads the audit from the cluster too.
    const explained = await runCliCollecting(
      ["explain", id, "--json"],
      cliEnv({ redisClusterNodes: [...cluster.nodes], keyPrefix: keys.prefix }),
    );
    expect(explained.stderr).toBe("");
    expect(explained.code).toBe(0);
    expect(JSON.parse(explained.stdout)).toMatchObject({
      interceptorId: id,
      decision: "ALLOW",
      cache: "hit",
    });
    // And `gatehouse decisions` lists them.
    const listed = await runCliCollecting(
      ["decisions", "--decision", "DENY", "--json"],
      cliEnv({ redisClusterNodes: [...cluster.nodes], keyPrefix: keys.prefix }),
    );
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      read: 2,
      more: false,
      decisions: [{ decision: "DENY", reason: "email.disposable" }],
    });
  });

  it("gatehouse decisions --follow prints decisions written to the cluster as they come", async () => {
    const keys = cacheKeys(`f${randomUUID().slice(0, 8)}`);
    const child = spawn(process.execPath, ["apps/cli/bin/gatehouse.mjs", "decisions", "--follow", "--json"], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: {
        ...process.env,
        REDIS_CLUSTER_NODES: cluster.nodes.join(","),
        GATEHOUSE_KEY_PREFIX: keys.prefix,
      },
    });
    cleanups.push(async () => {
      child.kill("SIGKILL");
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    // --json prints no header: write until the follower, reading from the stream's end, prints one.
    await expect
      .poll(
        async () => {
          await writeAuditBatches(redis, keys, [
            [{ at: Date.now(), interceptorId: "ic_live", decision: "DENY" }],
          ]);
          return stdout;
        },
        { timeout: 15_000, interval: 500 },
      )
      .toContain('"interceptorId":"ic_live"');
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout.split("\n")[0] as string)).toMatchObject({
      interceptorId: "ic_live",
      decision: "DENY",
    });
  });

  it("answers a miss after the worker's announcement, with one job for a burst of one new domain", async () => {
    const { app, keys } = await ingress(WAIT_FOR_MX_POLICY);
    const running = await emailDomainWorkers(keys.prefix, dns.address);
    const burst = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: `u${i}@${newDomain}` })),
      ),
    );
    // Answered by the policy once the fact arrived, not by the miss policy (which would DENY).
    expect(burst.map((sent) => sent.answer.decision)).toEqual(Array(8).fill("ALLOW"));

    const queue = new Queue(queueName(ENRICHMENTS["email-domain"]), {
      connection: redis,
      prefix: bullPrefix(keys.prefix),
    });
    cleanups.push(() => queue.close());
    const counts = await queue.getJobCounts("completed", "active", "waiting", "delayed", "failed");
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(1);
    // The worker's backlog gauges read the same queue through its cluster connection.
    expect((await running.jobCounts(1_000))?.get("email-domain")).toMatchObject({
      waiting: 0,
      prioritized: 0,
      active: 0,
      delayed: 0,
      failed: counts.failed,
    });
  });

  it("warms the cache from a file with gatehouse warm: one job per subject, every fact written", async () => {
    const keys = cacheKeys(`w${randomUUID().slice(0, 8)}`);
    const domains = Array.from({ length: 6 }, (_, i) => `warm${i}-${suffix}.example`);
    const dnsWithMx = await startStubDnsServer(
      Object.fromEntries(domains.map((domain) => [domain, { mx: [[10, `mx.${domain}`]] }])),
    );
    cleanups.push(() => dnsWithMx.close());
    await emailDomainWorkers(keys.prefix, dnsWithMx.address);
    const file = join(mkdtempSync(join(tmpdir(), "warm-cluster-")), "signups.txt");
    // Two addresses per domain: one job each all the same.
    writeFileSync(file, domains.flatMap((domain) => [`a@${domain}`, `b@${domain}`]).join("\n"));

    const warmed = await runCliCollecting(
      ["warm", file, "--enrichment", "email-domain", "--wait", "20", "--json"],
      cliEnv({ redisClusterNodes: [...cluster.nodes], keyPrefix: keys.prefix }),
    );
    expect(warmed.stderr).toBe("");
    expect(warmed.code).toBe(0);
    expect(JSON.parse(warmed.stdout)).toMatchObject({
      lines: 12,
      missing: 0,
      enrichments: [{ enrichment: "email-domain", subjects: 6, cached: 0, added: 6, written: 6 }],
    });
    const facts = await getMany(
      redis,
      domains.map((domain) => factKey(keys, ENRICHMENTS["email-domain"], { domain })),
    );
    expect(facts.every((raw) => raw?.includes('"mx":"present"'))).toBe(true);
    // `gatehouse lookup` reads a fact and its subject's queue on the cluster.
    const looked = await runCliCollecting(
      ["lookup", `c@${domains[0]}`, "--enrichment", "email-domain", "--json"],
      cliEnv({ redisClusterNodes: [...cluster.nodes], keyPrefix: keys.prefix }),
    );
    expect(looked.stderr).toBe("");
    expect(looked.code).toBe(0);
    expect(JSON.parse(looked.stdout).lookups).toEqual([
      expect.objectContaining({
        subject: domains[0],
        cached: expect.objectContaining({ fact: expect.objectContaining({ mx: "present" }) }),
        job: {},
      }),
    ]);
    // `gatehouse status` reads every master, and the workers and queue of the enrichment.
    const status = await runCliCollecting(
      ["status", "--json"],
      cliEnv({ redisClusterNodes: [...cluster.nodes], keyPrefix: keys.prefix }),
    );
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.redis.map((node: { address: string }) => node.address).sort()).toEqual(
      [...cluster.nodes].sort(),
    );
    expect(report.enrichments).toContainEqual(
      expect.objectContaining({
        enrichment: "email-domain",
        running: true,
        jobs: expect.objectContaining({ waiting: 0 }),
      }),
    );
  });

  it("counts velocity once per interceptor id, whatever node the counters live on", async () => {
    const policy = policySchema.parse({
      version: 1,
      triggers: {
        PRE_SIGNUP: {
          rules: [
            {
              name: "busy-ip",
              when: { velocity: { per: "ip", window: "1h", over: 2 } },
              outcome: { decision: "DENY", reason: "ip.velocity" },
            },
          ],
        },
      },
    });
    const { app, keys } = await ingress(policy);
    const ip = "203.0.113.77";
    const request = body("PRE_SIGNUP_NEW_USER", { ip_address: ip });
    const ids = ["a", "b"].map((name) => `ic_${name}_${randomUUID()}`);
    for (const id of ids)
      expect((await send(app, "/pre-signup", request, { id })).answer.decision).toBe("ALLOW");
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const id of ids)
      expect((await send(app, "/pre-signup", request, { id })).answer.decision).toBe("ALLOW");
    const counter = counterKeys(keys, "PRE_SIGNUP:ip:3600", ip, 3_600, Date.now());
    expect(await redis.get(counter.current)).toBe("2");
    expect((await send(app, "/pre-signup", request)).answer.decision).toBe("DENY");
  });

  it("a CLI command connects to a cluster whose first requests for the slot map fail, as a forming cluster's may", async () => {
    // The only node given drops its first two connections: each attempt to fetch the slot map fails until
    // then, and the cluster client reports each as an error before it tries again.
    const proxy = await startTcpProxy(cluster.masters[0]!.port, { drop: 2 });
    cleanups.push(() => proxy.close());

    const client = await connectRedis({ url: "", clusterNodes: [`127.0.0.1:${proxy.port}`] });
    cleanups.push(async () => client.disconnect());
    expect(proxy.dropped).toBe(2);
    const key = `connect-${suffix}`;
    await client.set(key, "reached");
    expect(await client.get(key)).toBe("reached");
  });

  it("a CLI command against a cluster that never answers fails at its timeout, naming the last error", async () => {
    const proxy = await startTcpProxy(cluster.masters[0]!.port, { drop: Number.POSITIVE_INFINITY });
    cleanups.push(() => proxy.close());

    const startedAt = Date.now();
    const failure = await connectRedis({ url: "", clusterNodes: [`127.0.0.1:${proxy.port}`] }, 800).catch(
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(NetworkError);
    expect((failure as Error).message).toContain(`Redis Cluster 127.0.0.1:${proxy.port}`);
    expect((failure as Error).message).toContain("Failed to refresh slots cache.");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(750);
  });

  it("becomes ready and answers through a node address the cluster does not report, as a Service's", async () => {
    // REDIS_CLUSTER_NODES names a proxy (a Kubernetes Service, a load balancer): the slot map then names
    // nodes the client has not connected to yet, and it connects to them while it checks the cluster is up.
    const proxy = await startTcpProxy(cluster.masters[1]!.port);
    cleanups.push(() => proxy.close());
    const { app, keys } = await ingress(DEFAULT_POLICY, [`127.0.0.1:${proxy.port}`]);
    const domain = `svc-${suffix}.example`;
    await writeFact(
      redis,
      keys,
      factKey(keys, ENRICHMENTS["email-domain"], { domain }),
      emailFact(domain, true),
      60,
    );

    const denied = await send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: `a@${domain}` }));
    expect(denied.answer.decision).toBe("DENY");
    expect(denied.answer.error?.message).toMatch(/disposable/);
  });

  it("hears announcements again when the node holding its subscription hangs: its PING goes unanswered", async () => {
    const { app, keys } = await ingress(WAIT_FOR_MX_POLICY);
    const clients = cluster.masters.map((master) => createRedis({ url: master.url }, "bullmq"));
    cleanups.push(async () => {
      for (const client of clients) client.disconnect();
    });
    // The one connection subscribed (sub=1) to the announcements, once ioredis settled on a node (it may
    // move the subscription while it first refreshes its slot map: a second old at least).
    let holding = -1;
    await vi.waitFor(async () => {
      const lists = await Promise.all(clients.map((client) => client.client("LIST") as Promise<string>));
      const subscribed = lists.map((list) =>
        list
          .split("\n")
          .some(
            (line) =>
              line.includes("name=ioredis-cluster(subscriber):gatehouse:ingress:") &&
              / sub=1 /.test(line) &&
              Number(/ age=(\d+) /.exec(line)?.[1]) >= 1,
          ),
      );
      expect(subscribed.filter(Boolean)).toHaveLength(1);
      holding = subscribed.indexOf(true);
    });
    const hung = cluster.masters[holding] as (typeof cluster.masters)[number];
    // Which master owns a key, asked of one that will still answer.
    const answering = clients[(holding + 1) % clients.length] as RedisClient;
    const ranges = (await answering.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
    const clientFor = async (key: string) => {
      const slot = (await answering.cluster("KEYSLOT", key)) as number;
      const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
      return {
        port,
        client: clients[cluster.masters.findIndex((master) => master.port === port)] as RedisClient,
      };
    };
    hung.pause();
    cleanups.push(async () => hung.resume());

    /** A miss for a new domain, its fact written and announced on a node that answers, while it waits. */
    const wokenByAnnouncement = async () => {
      let domain: string;
      let key: string;
      do {
        domain = `hang${randomUUID().slice(0, 8)}.example`;
        key = factKey(keys, ENRICHMENTS["email-domain"], { domain });
      } while ((await clientFor(key)).port === hung.port);
      let id: string;
      do id = `ic_${randomUUID()}`;
      while ((await clientFor(keys.idempotency(id))).port === hung.port);
      const misses = async () =>
        Number(
          /gatehouse_cache_lookups_total\{enrichment="email-domain",result="miss"\} (\d+)/.exec(
            (await app.inject("/metrics")).body,
          )?.[1] ?? 0,
        );
      const missesBefore = await misses();
      const pending = send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: `a@${domain}` }), {
        id,
      });
      // Written once the request has missed and waits for it.
      await vi.waitFor(async () => expect(await misses()).toBeGreaterThan(missesBefore), { interval: 10 });
      await writeFact((await clientFor(key)).client, keys, key, emailFact(domain, false), 60);
      // Woken: the policy's "checked" ALLOW; the announcement missed: the miss policy's DENY after 1 s.
      expect((await pending).answer).toEqual({ decision: "ALLOW" });
    };
    // ioredis subscribes again on a node it picks at random, the hung one a third of the time, which the
    // heartbeat then closes in turn (≤ 6 s each): room for several such picks in a row.
    await vi.waitFor(wokenByAnnouncement, { timeout: 45_000, interval: 200 });
  }, 60_000);

  it("answers with the trigger's fallback, within the deadline, when the node owning the request's fact dies, and reads it again once it is back", async () => {
    const { app, keys } = await ingress(FAIL_CLOSED_SIGNUP_POLICY);
    const domain = `down${suffix}.example`;
    const key = factKey(keys, ENRICHMENTS["email-domain"], { domain });
    await writeFact(redis, keys, key, emailFact(domain, false), 60);
    expect(
      (await send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: `x@${domain}` }))).answer,
    ).toEqual({
      decision: "ALLOW",
    });

    const owner = await cluster.ownerOf(key);
    await owner.kill();
    const sent = await send(app, "/pre-signup", body("PRE_SIGNUP_NEW_USER", { user_email: `y@${domain}` }));
    expect(sent.answer).toEqual({ decision: "DENY" });
    expect(sent.ms).toBeLessThan(1_500 + 250);

    // The node back (empty: its data went with it): the ingress reads from it again, without a restart of
    // its own — the policy's DENY (with its message) comes from the fact written there now.
    await owner.restart();
    await vi.waitFor(() => writeFact(redis, keys, key, emailFact(domain, true), 60), {
      timeout: 20_000,
      interval: 200,
    });
    await vi.waitFor(
      async () => {
        const again = await send(
          app,
          "/pre-signup",
          body("PRE_SIGNUP_NEW_USER", { user_email: `z@${domain}` }),
        );
        expect(again.answer.error?.message).toMatch(/disposable/);
      },
      { timeout: 20_000, interval: 200 },
    );
  });
});

describe("on a Redis Cluster that requires a password (REDIS_CLUSTER_NODES as redis:// URLs)", () => {
  const password = `pw-${suffix}`;
  let secured: RedisCluster;
  let urls: string[];
  beforeAll(async () => {
    secured = await startRedisCluster({ password });
    urls = secured.nodes.map((node) => `redis://:${password}@${node}`);
  }, 60_000);
  afterAll(() => secured?.stop());

  it("answers a miss once the worker computed it, audits it, and the CLI reads it; without the password the CLI says why", async () => {
    const { app, keys } = await ingress(WAIT_FOR_MX_POLICY, urls);
    await emailDomainWorkers(keys.prefix, dns.address, urls);
    const sent = await send(
      app,
      "/pre-signup",
      body("PRE_SIGNUP_NEW_USER", { user_email: `p@${newDomain}` }),
    );
    expect(sent.answer).toEqual({ decision: "ALLOW" });
    await app.close();

    const env = { redisClusterNodes: urls, keyPrefix: keys.prefix };
    const listed = await runCliCollecting(["decisions", "--json"], cliEnv(env));
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      decisions: [{ decision: "ALLOW", reason: "checked", cache: "waited" }],
    });

    const refused = await runCliCollecting(
      ["decisions", "--json"],
      cliEnv({ redisClusterNodes: [...secured.nodes], keyPrefix: keys.prefix }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/NOAUTH|Authentication required/);
    const withUrls = await runCliCollecting(
      ["decisions", "--json"],
      cliEnv({
        redisClusterNodes: urls.map((url) => url.replace(password, "wrong")),
        keyPrefix: keys.prefix,
      }),
    );
    expect(withUrls.code).toBe(1);
    expect(withUrls.stderr).toMatch(/WRONGPASS|invalid username-password/);
    expect(withUrls.stderr).not.toContain("wrong");
  });
});

describe("on a Redis Cluster over TLS (REDIS_CLUSTER_NODES as rediss:// URLs)", () => {
  let tls: TlsFiles;
  let secured: RedisCluster;
  beforeAll(async () => {
    tls = await makeTlsFiles();
    secured = await startRedisCluster({ tls });
  }, 60_000);
  afterAll(() => secured?.stop());

  it("the CLI reads the audit over TLS, trusting the cluster's authority, and says why when it does not", async () => {
    const keys = cacheKeys(`t${randomUUID().slice(0, 8)}`);
    const writer = new Cluster([{ host: "127.0.0.1", port: secured.masters[0]!.port }], {
      redisOptions: { tls: { ca: readFileSync(tls.ca) } },
      dnsLookup: (address, callback) => callback(null, address),
    });
    cleanups.push(() => writer.quit());
    await writeAuditBatches(writer, keys, [[{ at: Date.now(), interceptorId: "ic_tls", decision: "DENY" }]]);

    const env = {
      REDIS_CLUSTER_NODES: `rediss://127.0.0.1:${secured.masters[1]!.port}`,
      GATEHOUSE_KEY_PREFIX: keys.prefix,
    };
    const listed = await runBuiltCli(["decisions", "--json"], { ...env, NODE_EXTRA_CA_CERTS: tls.ca });
    expect(listed.stderr).toBe("");
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({
      decisions: [{ interceptorId: "ic_tls", decision: "DENY" }],
    });

    const untrusted = await runBuiltCli(["decisions", "--json"], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/certificate/);
  });

  it("a process that does not trust the cluster's certificate logs why it cannot connect, not only that it cannot", async () => {
    // This test process does not trust the authority: its clients meet what a misconfigured ingress would.
    const clusterNodes = [`rediss://127.0.0.1:${secured.masters[2]!.port}`];
    const client = createRedis({ url: "", clusterNodes }, "request-path");
    cleanups.push(async () => client.disconnect());
    const lines: { fields: Record<string, unknown>; message: string }[] = [];
    logConnectionErrors(
      [client],
      { warn: (fields, message) => lines.push({ fields, message }) },
      {
        everyMs: 100,
        clusterNodes,
      },
    );
    await vi.waitFor(
      () =>
        expect(lines).toContainEqual({
          fields: { cause: expect.stringMatching(/^127\.0\.0\.1:\d+: .*certificate/) },
          message: "redis cluster node unreachable",
        }),
      { timeout: 10_000, interval: 100 },
    );
    expect(lines).toContainEqual({
      fields: expect.objectContaining({ err: expect.stringContaining("Failed to refresh slots cache") }),
      message: "redis connection error",
    });
  });
});
