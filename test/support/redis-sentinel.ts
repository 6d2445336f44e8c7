import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, type RedisServer, startRedis } from "./redis-server.js";
import type { TlsFiles } from "./tls-files.js";

/** A master, its replica and a Sentinel watching them (quorum 1), on loopback: Redis' own failover. */
export interface RedisSentinelGroup {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The master group's name, as REDIS_URL's host gives it. */
  readonly name: string;
  /** `host:port` of the Sentinel, as REDIS_SENTINELS takes it (with TLS or a password, a URL saying so). */
  readonly sentinels: readonly string[];
  stop(): Promise<void>;
}

/**
 * The master is declared down after 1 s without an answer, and the replica promoted about a second later.
 * `password`: the master, the replica and the Sentinel each require it; `tls`: each takes TLS connections
 * only (the replica and the Sentinel reach the master over TLS too).
 */
export async function startRedisSentinels(
  options: { password?: string; tls?: TlsFiles } = {},
): Promise<RedisSentinelGroup> {
  const name = "gatehouse-test";
  const { password, tls } = options;
  const auth = password ? ["--requirepass", password, "--masterauth", password] : [];
  const args = [...auth, ...(tls ? ["--tls-replication", "yes"] : [])];
  // A replica's first copy starts at once (Redis 7 waits 5 s by default for more replicas to share it).
  const master = await startRedis({ tls, args: [...args, "--repl-diskless-sync-delay", "0"] });
  const replica = await startRedis({
    tls,
    args: [...args, "--replicaof", "127.0.0.1", String(master.port), "--repl-diskless-sync-delay", "0"],
  });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-sentinel-"));
  // Sentinel rewrites its configuration file as it learns: it must be its own, writable.
  const config = join(dir, "sentinel.conf");
  writeFileSync(
    config,
    [
      ...(tls
        ? ["port 0", `tls-port ${port}`, `tls-cert-file ${tls.cert}`, `tls-key-file ${tls.key}`]
        : [`port ${port}`]),
      ...(tls ? [`tls-ca-cert-file ${tls.ca}`, "tls-auth-clients no", "tls-replication yes"] : []),
      "bind 127.0.0.1",
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      ...(password ? [`sentinel auth-pass ${name} ${password}`, `requirepass ${password}`] : []),
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 2000`,
      "",
    ].join("\n"),
  );
  const sentinel: ChildProcess = spawn("redis-server", [config, "--sentinel"], { stdio: "ignore" });
  const stopSentinel = () =>
    new Promise<void>((resolve) => {
      if (sentinel.exitCode !== null || sentinel.signalCode !== null) return resolve();
      sentinel.once("exit", () => resolve());
      sentinel.kill("SIGTERM");
    });
  // Ready once the Sentinel knows the replica (it learns it from the master's INFO) and the copy is in sync.
  const client = { password, ...(tls && { tls: { ca: readFileSync(tls.ca) } }) };
  const asked = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50, lazyConnect: true, ...client });
  asked.on("error", () => {});
  const copy = new Redis(replica.port, "127.0.0.1", client);
  try {
    await asked.connect().catch(() => {});
    for (let attempt = 0; ; attempt++) {
      const replicas = (await asked.call("SENTINEL", "REPLICAS", name).catch(() => [])) as unknown[];
      const linked = (await copy.info("replication")).includes("master_link_status:up");
      if (replicas.length === 1 && linked) break;
      if (attempt > 200) throw new Error("the Sentinel never saw the replica in sync");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } catch (error) {
    await Promise.all([stopSentinel(), master.stop(), replica.stop()]);
    throw error;
  } finally {
    asked.disconnect();
    copy.disconnect();
  }
  return {
    master,
    replica,
    name,
    sentinels: [
      tls || password
        ? `${tls ? "rediss" : "redis"}://${password ? `:${password}@` : ""}127.0.0.1:${port}`
        : `127.0.0.1:${port}`,
    ],
    async stop() {
      await Promise.all([stopSentinel(), master.stop(), replica.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
