import { Redis, type RedisOptions } from "ioredis";

/**
 * How a connection is used decides how it fails:
 * - `request-path`: the ingress' reads and writes. Never queues a command while disconnected and gives up
 *   on a command after `commandTimeoutMs`, so a slow or absent Redis turns into a fast error, never a hang.
 * - `subscriber`: announcements. Reconnects and resubscribes forever.
 * - `bullmq`: queues and workers. `maxRetriesPerRequest: null`, as BullMQ requires for blocking commands.
 */
export type RedisProfile = "request-path" | "subscriber" | "bullmq";

export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. */
  url: string;
  /** Request-path command timeout. Default: 250 ms. */
  commandTimeoutMs?: number;
  /** Shown in `CLIENT LIST`, which helps when a Redis is shared. */
  name?: string;
}

// Reconnect quickly at first, then every second at most: Redis restarts should be noticed within a second.
const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 1000);

export function createRedis(options: RedisConnectionOptions, profile: RedisProfile): Redis {
  const base: RedisOptions = {
    connectionName: options.name ? `gatehouse:${options.name}:${profile}` : `gatehouse:${profile}`,
    retryStrategy,
    lazyConnect: false,
  };
  const byProfile: Record<RedisProfile, RedisOptions> = {
    "request-path": {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      enableAutoPipelining: true,
    },
    subscriber: { maxRetriesPerRequest: null, autoResubscribe: true },
    bullmq: { maxRetriesPerRequest: null, enableReadyCheck: false },
  };
  return new Redis(options.url, { ...base, ...byProfile[profile] });
}
