import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, type RedisServer, startRedis } from "./redis-server.js";

/** A master, its replica and a Sentinel watching them (quorum 1), on loopback: Redis' own failover. */
export interface RedisSentinelGroup {
  readonly master: RedisServer;
  readonly replica: RedisServer;
  /** The master group's name, as REDIS_URL's host gives it. */
  readonly name: string;
  /** `host:port` of the Sentinel, as REDIS_SENTINELS takes it. */
  readonly sentinels: readonly string[];
  stop(): Promise<void>;
}

/** The master is declared down after 1 s without an answer, and the replica promoted about a second later. */
export async function startRedisSentinels(): Promise<RedisSentinelGroup> {
  const name = "gatehouse-test";
  // A replica's first copy starts at once (Redis 7 waits 5 s by default for more replicas to share it).
  const master = await startRedis({ args: ["--repl-diskless-sync-delay", "0"] });
  const replica = await startRedis({
    args: ["--replicaof", "127.0.0.1", String(master.port), "--repl-diskless-sync-delay", "0"],
  });
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-sentinel-"));
  // Sentinel rewrites its configuration file as it learns: it must be its own, writable.
  const config = join(dir, "sentinel.conf");
  writeFileSync(
    config,
    [
      `port ${port}`,
      "bind 127.0.0.1",
      `dir ${dir}`,
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
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
  const asked = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50, lazyConnect: true });
  asked.on("error", () => {});
  const copy = new Redis(replica.url);
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
    sentinels: [`127.0.0.1:${port}`],
    async stop() {
      await Promise.all([stopSentinel(), master.stop(), replica.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
