import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort, type RedisServer, startRedis } from "./redis-server.js";
import type { TlsFiles } from "./tls-files.js";

const run = promisify(execFile);

/** A real Redis Cluster on loopback: three masters, no replicas, each with its own data directory. */
export interface RedisCluster {
  readonly masters: readonly RedisServer[];
  /** `host:port` of every master, as REDIS_CLUSTER_NODES takes them (without the password). */
  readonly nodes: readonly string[];
  /** The master that owns a key's slot. */
  ownerOf(key: string): Promise<RedisServer>;
  stop(): Promise<void>;
}

/**
 * `password`: every node requires it (AUTH), as a managed cluster does. `tls`: every node takes TLS only,
 * the cluster's own bus too.
 */
export async function startRedisCluster(
  options: { password?: string; tls?: TlsFiles } = {},
): Promise<RedisCluster> {
  const { password, tls } = options;
  const auth = password === undefined ? [] : ["--requirepass", password, "--masterauth", password];
  const masters = await Promise.all(
    [0, 1, 2].map(async () =>
      startRedis({
        // A node down leaves the others serving their own slots (the tests stop nodes on purpose). The bus
        // port is chosen free like the node's own: by default it is the node's + 10,000, a port nobody
        // checked, which another test's server (or the ingress of end-to-end) could take meanwhile.
        args: [
          "--cluster-port",
          String(await freePort()),
          "--cluster-enabled",
          "yes",
          "--cluster-node-timeout",
          "1000",
          "--cluster-require-full-coverage",
          "no",
          ...auth,
        ],
        ...(tls && { tls }),
      }),
    ),
  );
  const nodes = masters.map((master) => `127.0.0.1:${master.port}`);
  await run("redis-cli", [
    ...(password === undefined ? [] : ["--no-auth-warning", "-a", password]),
    ...(tls ? ["--tls", "--cacert", tls.ca] : []),
    "--cluster",
    "create",
    ...nodes,
    "--cluster-replicas",
    "0",
    "--cluster-yes",
  ]);
  const connect = (master: RedisServer) =>
    new Redis(master.url, {
      ...(password !== undefined && { password }),
      ...(tls && { tls: { ca: readFileSync(tls.ca) } }),
    });
  // Every node must agree the cluster is whole before a client can rely on its slot map.
  for (const master of masters) {
    const client = connect(master);
    try {
      for (let attempt = 0; ; attempt++) {
        const info = (await client.cluster("INFO")) as string;
        const slots = (await client.cluster("SLOTS")) as unknown[];
        if (info.includes("cluster_state:ok") && slots.length === 3) break;
        if (attempt > 100) throw new Error(`cluster on ${master.url} not ready: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      client.disconnect();
    }
  }

  return {
    masters,
    nodes,
    async ownerOf(key) {
      const client = connect(masters[0]!);
      try {
        const slot = (await client.cluster("KEYSLOT", key)) as number;
        const ranges = (await client.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        const owner = masters.find((master) => master.port === range?.[2][1]);
        if (!owner) throw new Error(`no master owns slot ${slot}`);
        return owner;
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      await Promise.all(masters.map((master) => master.stop()));
    },
  };
}
