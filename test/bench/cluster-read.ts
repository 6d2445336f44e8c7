// The ingress' per-request read — claim the interceptor id, GET three facts, count one velocity counter —
// through the same DecisionCache.read, on one Redis (one Lua script) and on a three-master Redis Cluster
// (one parallel wave of single-slot commands), sequentially and at a few concurrencies: latency, and the
// CPU it costs Redis and the client per read.
import { randomBytes } from "node:crypto";
import { cacheKeys, counterKeys, DecisionCache, writeFacts } from "@gatehouse/decision-cache";
import { createRedis, type RedisClient, whenReady } from "@gatehouse/redis";
import { Redis } from "ioredis";
import { startRedisCluster } from "../support/redis-cluster.js";
import { startRedis } from "../support/redis-server.js";
import { delta, otherCores, snapshot } from "./cpu.js";
import type { ProcessGroup } from "./processes.js";
import { type SampleEnrichment, sampleFact, ttlSeconds } from "./sample-facts.js";
import { redisProcessId } from "./servers.js";
import { type LatencySummary, summarize } from "./stats.js";

export interface ClusterReadRow {
  readonly target: "one Redis" | "3-master cluster";
  readonly concurrency: number;
  readonly reads: number;
  readonly readsPerSecond: number;
  readonly latencyMs: LatencySummary;
  /** CPU of every Redis process, and of this (client) process, per read. */
  readonly redisCpuUs: number;
  readonly clientCpuUs: number;
  readonly otherCores: number;
}

export interface ClusterReadResult {
  readonly rows: ClusterReadRow[];
  /** On the cluster: masters one read touches, on average over a sample, and commands it sends. */
  readonly nodesPerRead: number;
  readonly commandsPerRead: number;
}

const ENRICHMENTS: readonly SampleEnrichment[] = ["email-domain", "ip-reputation", "user-claims"];
const SUBJECTS = 1_000;
const COUNTER = "PRE_SIGNUP:ip:3600";

const keysOf = (prefix: string, subject: number) =>
  ENRICHMENTS.map((enrichment) => sampleFact(cacheKeys(prefix), enrichment, subject).key);

/** Masters touched by one read on the cluster, averaged over `sample` reads (CLUSTER KEYSLOT + SLOTS). */
async function nodesPerRead(url: string, reads: string[][]): Promise<number> {
  const client = new Redis(url);
  try {
    const ranges = (await client.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
    let total = 0;
    for (const keys of reads) {
      const slots = (await Promise.all(keys.map((key) => client.cluster("KEYSLOT", key)))) as number[];
      const owners = new Set(
        slots.map((slot) => ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1]),
      );
      total += owners.size;
    }
    return total / reads.length;
  } finally {
    client.disconnect();
  }
}

async function readAt(
  cache: DecisionCache,
  concurrency: number,
  reads: number,
  pids: Record<string, number>,
): Promise<Omit<ClusterReadRow, "target">> {
  const prefix = cache.keys.prefix;
  const ids = Array.from({ length: reads }, () => `msg_${randomBytes(16).toString("base64url")}`);
  const plan = ids.map((_, n) => (n * 7_919) % SUBJECTS);
  const keys = plan.map((subject) => keysOf(prefix, subject));
  const now = Date.now();
  const counters = plan.map((subject) => [
    counterKeys(cache.keys, COUNTER, `81.0.${subject >> 8}.${subject & 255}`, 3_600, now),
  ]);
  const latencies = new Float64Array(reads);
  let next = 0;
  const watch = { ...pids, client: process.pid };
  const before = snapshot(watch);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < reads) {
        const n = next++;
        const started = performance.now();
        const result = await cache.read(ids[n]!, keys[n]!, counters[n]!);
        latencies[n] = performance.now() - started;
        if (result.kind !== "fresh" || result.values.some((value) => value === null))
          throw new Error(`read ${n}: expected three cached facts and a fresh claim`);
      }
    }),
  );
  const cpu = delta(before, snapshot(watch));
  const redisSeconds = Object.keys(pids).reduce((sum, name) => sum + (cpu.byName[name] ?? 0), 0);
  return {
    concurrency,
    reads,
    readsPerSecond: reads / cpu.seconds,
    latencyMs: summarize(latencies),
    redisCpuUs: (redisSeconds * 1e6) / reads,
    clientCpuUs: ((cpu.byName.client ?? 0) * 1e6) / reads,
    otherCores: otherCores(cpu),
  };
}

async function fill(client: RedisClient, prefix: string): Promise<void> {
  for (const enrichment of ENRICHMENTS) {
    const facts = Array.from({ length: SUBJECTS }, (_, n) => sampleFact(cacheKeys(prefix), enrichment, n));
    await writeFacts(client, facts, ttlSeconds(enrichment));
  }
}

export async function compareClusterRead(options: {
  readonly group: ProcessGroup;
  readonly say: (line: string) => void;
  readonly reads: number;
  readonly concurrencies: readonly number[];
}): Promise<ClusterReadResult> {
  const single = await startRedis();
  const cluster = await startRedisCluster().catch(async (error: unknown) => {
    await single.stop();
    throw error;
  });
  const clients: RedisClient[] = [];
  try {
    const singlePid = await redisProcessId(single.url);
    const masterPids = await Promise.all(cluster.masters.map((master) => redisProcessId(master.url)));
    for (const pid of [singlePid, ...masterPids]) options.group.adopt(pid);
    const targets = [
      {
        target: "one Redis" as const,
        client: createRedis({ url: single.url }, "request-path"),
        pids: { redis: singlePid },
      },
      {
        target: "3-master cluster" as const,
        client: createRedis({ url: "", clusterNodes: cluster.nodes }, "request-path"),
        pids: Object.fromEntries(masterPids.map((pid, i) => [`redis-${i + 1}`, pid])),
      },
    ];
    const rows: ClusterReadRow[] = [];
    for (const { target, client, pids } of targets) {
      clients.push(client);
      // The ingress' own connection profile: no offline queue, so wait until it is ready.
      await whenReady(client);
      const prefix = "clusterread";
      await fill(client, prefix);
      const cache = new DecisionCache(client, cacheKeys(prefix));
      await readAt(cache, 16, Math.min(options.reads, 2_000), pids); // connections, scripts and JIT: unmeasured
      for (const concurrency of options.concurrencies) {
        const row = { target, ...(await readAt(cache, concurrency, options.reads, pids)) };
        rows.push(row);
        options.say(
          `${target}, ${concurrency} at a time: ${Math.round(row.readsPerSecond)} reads/s, p50 ${row.latencyMs.p50.toFixed(3)} ` +
            `p99 ${row.latencyMs.p99.toFixed(3)} ms, Redis ${row.redisCpuUs.toFixed(1)} µs/read, client ${row.clientCpuUs.toFixed(1)} µs/read, ` +
            `other cores ${row.otherCores.toFixed(2)}`,
        );
      }
    }
    const sample = Array.from({ length: 200 }, (_, n) => [
      cacheKeys("clusterread").idempotency(`msg_${n}`),
      ...keysOf("clusterread", n),
      counterKeys(cacheKeys("clusterread"), COUNTER, `81.0.0.${n}`, 3_600, Date.now()).current,
    ]);
    return {
      rows,
      nodesPerRead: await nodesPerRead(cluster.masters[0]!.url, sample),
      commandsPerRead: 1 + ENRICHMENTS.length + 1,
    };
  } finally {
    for (const client of clients) client.disconnect();
    await Promise.all([single.stop(), cluster.stop()]);
  }
}
