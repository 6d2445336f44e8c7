// The processes under test, started the way production runs them: Redis (with the production
// persistence settings), the built ingress and worker (`node apps/*/dist/…`, NODE_ENV=production, logs at
// the production level), and beside them the bare route, the hand-written endpoint and the stub providers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { bullPrefix } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import { createRedis } from "@gatehouse/redis";
import { Queue } from "bullmq";
import { assertBuilt, INGRESS, WORKER } from "../support/artifacts.js";
import { freePort, type RedisServer, startRedis } from "../support/redis-server.js";
import { NO_AUTOMATIC_REWRITE } from "./aof-rewrites.js";
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
  /** More environment for the ingress (`--ingress-env`, e.g. `GATEHOUSE_LOCAL_FACTS_MS=0`). */
  readonly ingressEnv?: Readonly<Record<string, string>>;
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

/**
 * How the benchmark's own servers run (the bare route, the hand-written endpoint, the stub providers): from
 * TypeScript, and without V8's memory reducer. They sit idle through the other servers' windows, and the
 * reducer compacts an idle heap some seconds after its load stopped: the hand-written endpoint's two
 * mark-compacts after its window (10.6 and 28.6 ms, `--trace-gc`) landed in a Gatehouse window, 19 ms of
 * its CPU a second there. Under load, in their own windows, the reducer does nothing. The ingress and the
 * worker run as production runs them.
 */
const BENCH_SERVER = ["--no-memory-reducer", "--import", "tsx"];

/** Polls `check` until it holds; throws with the output of any of `managed` that exits meanwhile. */
async function waitUntil(
  what: string,
  managed: readonly Managed[],
  check: () => Promise<boolean>,
  timeoutMs = 30_000,
) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const exited = managed.find((m) => m.child.exitCode !== null || m.child.signalCode !== null);
    if (exited) throw new Error(`${what} exited early:\n${exited.tail()}`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const tails = managed.map((m) => m.tail()).join("\n");
  throw new Error(`${what} not ready after ${timeoutMs} ms${tails ? `:\n${tails}` : ""}`);
}

const answersOk = (url: string) => async () => (await fetch(url)).ok;

export async function startProviders(
  options: Pick<ServerOptions, "group" | "providerLatencyMs">,
  blocklistFile?: string,
): Promise<Providers> {
  const managed = options.group.spawn(
    "providers",
    process.execPath,
    [...BENCH_SERVER, "test/bench/stub-providers.ts"],
    {
      BENCH_PROVIDER_LATENCY_MS: String(options.providerLatencyMs),
      ...(blocklistFile && { BENCH_BLOCKLIST_FILE: blocklistFile }),
    },
  );
  let addresses: { dns: string; http: string } | undefined;
  await waitUntil("stub providers", [managed], async () => {
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

/**
 * Workers are up once each of `enrichments`' queues has one per process in `workers` (each warmed its
 * lists before it listens).
 */
export async function workersListening(
  redisUrl: string,
  prefix: string,
  workers: readonly Managed[],
  enrichments: readonly string[] = Object.keys(ENRICHMENTS),
): Promise<void> {
  const connection = createRedis({ url: redisUrl }, "bullmq");
  const queues = enrichments.map(
    (name) => new Queue(`enrich.${name}`, { connection, prefix: bullPrefix(prefix) }),
  );
  try {
    await waitUntil(
      workers.length === 1 ? "worker" : `${workers.length} workers`,
      workers,
      async () =>
        (await Promise.all(queues.map((queue) => queue.getWorkersCount()))).every(
          (count) => count >= workers.length,
        ),
      60_000,
    );
  } finally {
    await Promise.all(queues.map((queue) => queue.close()));
    await connection.quit();
  }
}

/** The pid of the redis-server behind `url` (to read its CPU time from /proc). */
export async function redisProcessId(url: string): Promise<number> {
  const info = createRedis({ url }, "bullmq");
  try {
    return Number(/process_id:(\d+)/.exec(await info.info("server"))?.[1]);
  } finally {
    await info.quit();
  }
}

/**
 * Redis with production persistence (infra/redis/redis.conf): append-only file, fsync every second,
 * noeviction; its file is compacted between windows rather than during one (aof-rewrites.ts).
 */
export async function startProductionRedis(
  group: ProcessGroup,
): Promise<{ redis: RedisServer; redisPid: number }> {
  const redis = await startRedis({
    args: ["--appendonly", "yes", "--appendfsync", "everysec", ...NO_AUTOMATIC_REWRITE],
  });
  const redisPid = await redisProcessId(redis.url);
  group.adopt(redisPid);
  return { redis, redisPid };
}

type AppOptions = Pick<
  ServerOptions,
  "group" | "secret" | "prefix" | "logLevel" | "profileDir" | "ingressNodeArgs" | "ingressEnv"
>;

const productionEnv = (options: AppOptions, redisUrl: string) => ({
  REDIS_URL: redisUrl,
  SCALEKIT_INTERCEPTOR_SECRET: options.secret,
  GATEHOUSE_KEY_PREFIX: options.prefix,
  LOG_LEVEL: options.logLevel,
  NODE_ENV: "production",
});

const localUrl = (port: number) => `http://127.0.0.1:${port}`;

/**
 * The built ingress as production runs it, once it answers `/readyz`; `build` runs another bundle of it (an
 * earlier build kept aside, `npm run bench:ab`) under another name.
 */
export async function startIngress(
  options: AppOptions,
  redisUrl: string,
  build: { readonly name: string; readonly script: string } = { name: "ingress", script: INGRESS },
): Promise<Managed & { readonly url: string }> {
  const port = await freePort();
  const profile = options.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`] : [];
  const ingress = options.group.spawn(
    build.name,
    process.execPath,
    [...profile, ...(options.ingressNodeArgs ?? []), build.script],
    { ...productionEnv(options, redisUrl), ...options.ingressEnv, PORT: String(port), HOST: "127.0.0.1" },
  );
  await waitUntil(build.name, [ingress], answersOk(`${localUrl(port)}/readyz`));
  return Object.assign(ingress, { url: localUrl(port) });
}

/** One built worker process as production runs it; `env` adds the enrichments' settings (providers, queues). */
export function spawnWorker(
  options: AppOptions,
  redisUrl: string,
  env: Record<string, string>,
  name = "worker",
): Managed {
  return options.group.spawn(name, process.execPath, [WORKER], {
    ...productionEnv(options, redisUrl),
    // Several workers may run at once: each takes a free port for its health and metrics.
    GATEHOUSE_WORKER_PORT: "0",
    HOST: "127.0.0.1",
    ...env,
  });
}

export async function startServers(options: ServerOptions): Promise<BenchServers> {
  assertBuilt();
  const { group } = options;
  const { redis, redisPid } = await startProductionRedis(group);

  const blocklistFile = join(options.workDir, "blocklist.txt");
  writeFileSync(blocklistFile, `# benchmark blocklist\n${options.blocklisted.join("\n")}\n`);
  const providers = await startProviders(options, blocklistFile);

  const [barePort, handPort] = [await freePort(), await freePort()];
  const worker = spawnWorker(options, redis.url, {
    GATEHOUSE_DNS_SERVERS: providers.dns,
    GATEHOUSE_IP_BLOCKLISTS: `bench=${blocklistFile}`,
    GATEHOUSE_CLAIMS_URL: `${providers.http}/claims`,
  });
  const bare = group.spawn("bare", process.execPath, [...BENCH_SERVER, "test/bench/bare-server.ts"], {
    NODE_ENV: "production",
    PORT: String(barePort),
  });
  const handWritten = group.spawn(
    "hand-written",
    process.execPath,
    [...BENCH_SERVER, "test/bench/hand-written-server.ts"],
    {
      NODE_ENV: "production",
      PORT: String(handPort),
      SCALEKIT_INTERCEPTOR_SECRET: options.secret,
      BENCH_DNS: providers.dns,
      BENCH_PROVIDERS_URL: providers.http,
    },
  );
  const [ingress] = await Promise.all([
    startIngress(options, redis.url),
    waitUntil("bare route", [bare], answersOk(`${localUrl(barePort)}/healthz`)),
    waitUntil("hand-written endpoint", [handWritten], answersOk(`${localUrl(handPort)}/healthz`)),
    workersListening(redis.url, options.prefix, [worker]),
  ]);
  return {
    redis,
    redisPid,
    providers,
    ingress,
    worker,
    bare: Object.assign(bare, { url: localUrl(barePort) }),
    handWritten: Object.assign(handWritten, { url: localUrl(handPort) }),
  };
}

/** `--ingress-env NAME=VALUE` settings (repeatable), as the ingress' extra environment. */
export function parseIngressEnv(settings: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    settings.map((setting) => {
      const at = setting.indexOf("=");
      if (at <= 0) throw new Error(`--ingress-env takes NAME=VALUE, not ${setting}`);
      return [setting.slice(0, at), setting.slice(at + 1)];
    }),
  );
}
