// The processes under test, started the way production runs them: Redis (with the production
// persistence settings), the built ingress and worker (`node apps/*/dist/…`, NODE_ENV=production, logs at
// the production level), and beside them the bare route, the hand-written endpoint and the stub providers.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { createRedis } from "@gatehouse/redis";
import { Queue } from "bullmq";
import { ROOT } from "../support/child-process.js";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.js";
import type { Managed, ProcessGroup } from "./processes.js";

export interface ServerOptions {
  readonly group: ProcessGroup;
  readonly workDir: string;
  readonly secret: string;
  readonly prefix: string;
  readonly providerLatencyMs: number;
  readonly blocklisted: readonly string[];
  /** Ingress and worker log level: the production default. */
  readonly logLevel: string;
  /** Write a V8 CPU profile of the ingress into this folder (`node --cpu-prof`). */
  readonly profileDir?: string | undefined;
  /** More node options for the ingress (e.g. `--trace-gc` while investigating). */
  readonly ingressNodeArgs?: readonly string[];
}

export interface Providers {
  readonly pid: number;
  readonly dns: string;
  readonly http: string;
  setDelay(ms: number): Promise<void>;
  stats(): Promise<{ delayMs: number; dnsQueries: number; reputation: number; claims: number }>;
}

export interface BenchServers {
  readonly redis: RedisServer;
  readonly redisPid: number;
  readonly providers: Providers;
  readonly ingress: Managed & { readonly url: string };
  readonly worker: Managed;
  readonly bare: Managed & { readonly url: string };
  readonly handWritten: Managed & { readonly url: string };
}

export const INGRESS = "apps/ingress/dist/server.js";
export const WORKER = "apps/worker/dist/main.js";
const TSX = ["--import", "tsx"];

async function waitUntil(
  what: string,
  managed: Managed | undefined,
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (managed && (managed.child.exitCode !== null || managed.child.signalCode !== null)) {
      throw new Error(`${what} exited early:\n${managed.tail()}`);
    }
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms${managed ? `:\n${managed.tail()}` : ""}`);
}

const answersOk = (url: string) => async () => (await fetch(url)).ok;

async function startProviders(options: ServerOptions, blocklistFile: string): Promise<Providers> {
  const managed = options.group.spawn(
    "providers",
    process.execPath,
    [...TSX, "test/bench/stub-providers.ts"],
    {
      BENCH_PROVIDER_LATENCY_MS: String(options.providerLatencyMs),
      BENCH_BLOCKLIST_FILE: blocklistFile,
    },
  );
  let addresses: { dns: string; http: string } | undefined;
  await waitUntil("stub providers", managed, async () => {
    const line = managed
      .tail()
      .split("\n")
      .find((l) => l.startsWith('{"dns"'));
    if (line) addresses = JSON.parse(line) as { dns: string; http: string };
    return addresses !== undefined;
  });
  const { dns, http } = addresses!;
  return {
    pid: managed.pid,
    dns,
    http,
    async setDelay(ms) {
      const response = await fetch(`${http}/delay`, { method: "POST", body: JSON.stringify({ ms }) });
      if (!response.ok) throw new Error(`stub providers refused the delay: ${response.status}`);
    },
    async stats() {
      return (await (await fetch(`${http}/stats`)).json()) as Awaited<ReturnType<Providers["stats"]>>;
    },
  };
}

/** The worker is up once every enabled enrichment's queue has a worker (it warmed its lists before that). */
async function workerListening(redisUrl: string, prefix: string, managed: Managed): Promise<void> {
  const connection = createRedis({ url: redisUrl }, "bullmq");
  const queues = Object.keys(ENRICHMENTS).map(
    (name) => new Queue(`enrich.${name}`, { connection, prefix: bullPrefix(prefix) }),
  );
  try {
    await waitUntil(
      "worker",
      managed,
      async () =>
        (await Promise.all(queues.map((queue) => queue.getWorkersCount()))).every((count) => count > 0),
      60_000,
    );
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
    await connection.quit();
  }
}

export async function startServers(options: ServerOptions): Promise<BenchServers> {
  for (const entry of [INGRESS, WORKER]) {
    if (!existsSync(join(ROOT, entry))) throw new Error(`${entry} is missing: run npm run build first`);
  }
  const { group } = options;
  // Production persistence (infra/redis/redis.conf): append-only file, fsync every second, noeviction.
  const redis = await startRedis({ args: ["--appendonly", "yes", "--appendfsync", "everysec"] });
  const info = createRedis({ url: redis.url }, "bullmq");
  const redisPid = Number(/process_id:(\d+)/.exec(await info.info("server"))?.[1]);
  await info.quit();
  group.adopt(redisPid);

  const blocklistFile = join(options.workDir, "blocklist.txt");
  writeFileSync(blocklistFile, `# benchmark blocklist\n${options.blocklisted.join("\n")}\n`);
  const providers = await startProviders(options, blocklistFile);

  const production = {
    REDIS_URL: redis.url,
    SCALEKIT_INTERCEPTOR_SECRET: options.secret,
    GATEHOUSE_KEY_PREFIX: options.prefix,
    LOG_LEVEL: options.logLevel,
    NODE_ENV: "production",
  };
  const [ingressPort, barePort, handPort] = [await freePort(), await freePort(), await freePort()];
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  const ingress = group.spawn(
    "ingress",
    process.execPath,
    [...profile, ...(options.ingressNodeArgs ?? []), INGRESS],
    {
      ...production,
      PORT: String(ingressPort),
      HOST: "127.0.0.1",
    },
  );
  const worker = group.spawn("worker", process.execPath, [WORKER], {
    ...production,
    GATEHOUSE_DNS_SERVERS: providers.dns,
    GATEHOUSE_IP_BLOCKLISTS: `bench=${blocklistFile}`,
    GATEHOUSE_CLAIMS_URL: `${providers.http}/claims`,
  });
  const bare = group.spawn("bare", process.execPath, [...TSX, "test/bench/bare-server.ts"], {
    NODE_ENV: "production",
    PORT: String(barePort),
  });
  const handWritten = group.spawn(
    "hand-written",
    process.execPath,
    [...TSX, "test/bench/hand-written-server.ts"],
    {
      NODE_ENV: "production",
      PORT: String(handPort),
      SCALEKIT_INTERCEPTOR_SECRET: options.secret,
      BENCH_DNS: providers.dns,
      BENCH_PROVIDERS_URL: providers.http,
    },
  );
  const url = (port: number) => `http://127.0.0.1:${port}`;
  await Promise.all([
    waitUntil("ingress", ingress, answersOk(`${url(ingressPort)}/readyz`)),
    waitUntil("bare route", bare, answersOk(`${url(barePort)}/healthz`)),
    waitUntil("hand-written endpoint", handWritten, answersOk(`${url(handPort)}/healthz`)),
    workerListening(redis.url, options.prefix, worker),
  ]);
  return {
    redis,
    redisPid,
    providers,
    ingress: Object.assign(ingress, { url: url(ingressPort) }),
    worker,
    bare: Object.assign(bare, { url: url(barePort) }),
    handWritten: Object.assign(handWritten, { url: url(handPort) }),
  };
}
