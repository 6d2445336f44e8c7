import { Cluster, type ClusterOptions, Redis, type RedisOptions } from "ioredis";
import { nodeListConnection } from "./node-list.js";

/**
 * How a connection is used decides how it fails:
 * - `request-path`: the ingress' reads. Never queues a command while disconnected and gives up on a command
 *   after `commandTimeoutMs`, so a slow or absent Redis turns into a fast error, never a hang. Each command
 *   goes out as it is issued: no auto-pipelining, which sends nothing while an earlier pipeline awaits its
 *   replies — under a burst every read waited for the whole previous batch (thousands of reads) to be
 *   answered and read back, and in some 15,000-request bursts nearly every read outlived its deadline.
 * - `background`: the ingress' writes after the reply and its enqueues, one batch command at a time: fails
 *   fast like `request-path` (its timeout defaults to 2 s), without auto-pipelining (an ioredis pipeline per
 *   tick costs more than the one command a batch sends).
 * - `subscriber`: announcements. Reconnects and resubscribes forever.
 * - `bullmq`: queues and workers. `maxRetriesPerRequest: null`, as BullMQ requires for blocking commands.
 */
export type RedisProfile = "request-path" | "background" | "subscriber" | "bullmq";

/** One Redis, or a Redis Cluster: every Gatehouse process works with either. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. Ignored when `clusterNodes` is set; with
   * `sentinels`, its host is the master group's name.
   */
  url: string;
  /**
   * Some nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`: `host:port`, or URLs carrying the credentials and
   * TLS every node takes, see node-list.ts); the rest are discovered.
   */
  clusterNodes?: readonly string[];
  /**
   * Redis Sentinels watching the Redis to use (`REDIS_SENTINELS`, entries as `clusterNodes`'): `url` then
   * names the master group by its host (`redis://:password@mymaster/0`) and gives the credentials, TLS
   * and database of the Redis they point to.
   */
  sentinels?: readonly string[];
  /** Request-path command timeout. Default: 250 ms. */
  commandTimeoutMs?: number;
  /** Shown in `CLIENT LIST`, which helps when a Redis is shared. */
  name?: string;
}

// Reconnect quickly at first, then every second at most: Redis restarts should be noticed within a second.
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 1000);

/**
 * How long a connection may stay silent while commands await their replies before it is given up and made
 * again: four command timeouts, at least 2 s. A host that vanished without closing its connections (a VM
 * gone, an address moved to a new primary) leaves them open, and TCP alone takes up to ~15 minutes to give
 * up: every command would time out meanwhile.
 */
const silentFor = (commandTimeoutMs: number) => Math.max(2_000, 4 * commandTimeoutMs);
/** BullMQ's connections': its longest blocking command (10 s) and 5 s more. */
const BULLMQ_SILENCE_MS = 15_000;

/**
 * A failover demotes the primary to a read-only replica and moves the address the clients were given to the
 * new primary (a managed Redis' endpoint); a connection made before stays open to the old one, where every
 * write fails with READONLY — every request would answer its fallback until something else broke the
 * connection. Such an error reconnects (the command itself still fails: a request answers its fallback at
 * once, the next one reaches the new primary).
 */
const reconnectOnError = (error: Error) => error.message.includes("READONLY");

/**
 * A client for one Redis (`url`), a Redis Cluster (`clusterNodes`), or the master some Sentinels name
 * (`sentinels`).
 */
export function createRedis(
  options: RedisConnectionOptions & { clusterNodes?: undefined },
  profile: RedisProfile,
): Redis;
export function createRedis(options: RedisConnectionOptions, profile: RedisProfile): RedisClient;
export function createRedis(options: RedisConnectionOptions, profile: RedisProfile): RedisClient {
  // No `lazyConnect` here: these options are also each cluster node's, and override the lazy connection
  // ioredis gives its nodes — `lazyConnect: false` made every node connect the moment it was discovered, so the
  // cluster's ready check met a node still connecting, failed (no offline queue), and reconnected, again and
  // again, whenever REDIS_CLUSTER_NODES named an address the cluster does not report (a Service, a proxy).
  const base: RedisOptions = {
    connectionName: options.name ? `gatehouse:${options.name}:${profile}` : `gatehouse:${profile}`,
    retryStrategy,
    reconnectOnError,
  };
  const requestTimeout = options.commandTimeoutMs ?? 250;
  const backgroundTimeout = options.commandTimeoutMs ?? 2_000;
  const byProfile: Record<RedisProfile, RedisOptions> = {
    "request-path": {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: requestTimeout,
      socketTimeout: silentFor(requestTimeout),
    },
    background: {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: backgroundTimeout,
      socketTimeout: silentFor(backgroundTimeout),
    },
    // Silent between announcements: its user PINGs it and closes it when unanswered (fact-announcements.ts).
    subscriber: { maxRetriesPerRequest: null, autoResubscribe: true },
    // BullMQ blocks a worker's connection for 10 s at most (its maximumBlockTimeout): silence past that is a
    // connection to give up, as for the others.
    bullmq: { maxRetriesPerRequest: null, enableReadyCheck: false, socketTimeout: BULLMQ_SILENCE_MS },
  };
  if (options.sentinels) {
    const client = new Redis({
      ...sentinelOptions(options.url, options.sentinels),
      ...base,
      ...byProfile[profile],
    });
    client.on("ready", () => quietFailoverDetector(client));
    return client;
  }
  if (!options.clusterNodes) return new Redis(options.url, { ...base, ...byProfile[profile] });

  // On a cluster, commands to keys of different slots cannot share a pipeline: a background batch's commands,
  // sent together, are auto-pipelined per node, so a batch still costs one round trip to each node it touches.
  // The request path's reads go out as they are issued, as on one Redis.
  const { nodes, username, password, tls } = nodeListConnection(options.clusterNodes);
  const cluster: ClusterOptions = {
    clusterRetryStrategy: retryStrategy,
    enableAutoPipelining: profile === "background",
    enableOfflineQueue: profile !== "request-path" && profile !== "background",
    enableReadyCheck: profile !== "bullmq",
    redisOptions: {
      ...base,
      ...byProfile[profile],
      ...(username && { username }),
      ...(password && { password }),
      ...(tls && { tls: {} }),
    },
    // With TLS each node is reached by the name the cluster reports, which its certificate carries (ioredis'
    // advice for TLS clusters), not by an address looked up first.
    ...(tls && {
      dnsLookup: (address: string, callback: (error: null, address: string) => void) =>
        callback(null, address),
    }),
  };
  return new Cluster([...nodes], cluster);
}

/**
 * A Redis found through its Sentinels: the master of the group `url`'s host names, with `url`'s credentials,
 * TLS and database; the Sentinels with their own entries'. ioredis asks them for the master at every
 * (re)connection and, told by them of a failover (its failover detector), reconnects to the new one at once.
 */
function sentinelOptions(url: string, entries: readonly string[]): RedisOptions {
  const master = new URL(url);
  const sentinels = nodeListConnection(entries, 26379);
  const db = Number(master.pathname.slice(1) || 0);
  return {
    name: decodeURIComponent(master.hostname),
    ...(master.username && { username: decodeURIComponent(master.username) }),
    ...(master.password && { password: decodeURIComponent(master.password) }),
    ...(db > 0 && { db }),
    ...(master.protocol === "rediss:" && { tls: {}, enableTLSForSentinelMode: true }),
    sentinels: [...sentinels.nodes],
    ...(sentinels.username && { sentinelUsername: sentinels.username }),
    ...(sentinels.password && { sentinelPassword: sentinels.password }),
    ...(sentinels.tls && { sentinelTLS: {} }),
    failoverDetector: true,
  };
}

/**
 * ioredis' failover detector holds connections of its own to the Sentinels, made as the client connects,
 * with no error listener: each error of theirs went to stderr as "[ioredis] Unhandled error event", outside
 * the logs — a Sentinel down (once a minute, as they reconnect), or a TLS handshake cut short when the
 * process closes the client within moments of opening it (a CLI command, one in four runs). They reconnect
 * by themselves, and the client's own connection reports the Sentinels it cannot ask, so their errors are
 * dropped. Reached through the connector's `failoverDetector` (not in ioredis' types); without it, nothing.
 */
function quietFailoverDetector(client: Redis): void {
  const { connector } = client as unknown as {
    connector?: { failoverDetector?: { sentinels?: readonly { client: Redis }[] } };
  };
  for (const sentinel of connector?.failoverDetector?.sentinels ?? [])
    if (sentinel.client.listenerCount("error") === 0) sentinel.client.on("error", () => {});
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}
