import { throttledLog } from "@gatehouse/telemetry";
import { clusterNodeProblem } from "./cluster-node-problem.js";
import type { RedisClient } from "./create-redis.js";

/** The one method of a logger this needs (pino's, for one). */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface LogConnectionErrorsOptions {
  /** At most one line this often, for all the clients together. Default: 5 s. */
  everyMs?: number;
  /**
   * The clients' cluster (`REDIS_CLUSTER_NODES`), when they are a cluster's: a failed fetch of its slot map is
   * then followed by what a plain connection to its first node meets (the cause ioredis leaves unsaid: a
   * certificate not trusted, a wrong password), at most one line per `everyMs` too.
   */
  clusterNodes?: readonly string[];
}

/**
 * Logs the clients' connection errors, at most one line per `everyMs` for all of them together: while
 * Redis is away every client reports every reconnection attempt, and one line says as much as hundreds.
 * Listening also keeps an unhandled 'error' event from crashing the process.
 */
export function logConnectionErrors(
  clients: readonly RedisClient[],
  log: WarnLogger,
  options: LogConnectionErrorsOptions = {},
): void {
  const { everyMs = 5_000, clusterNodes } = options;
  const warn = throttledLog((fields, message) => log.warn(fields, message), everyMs);
  // One probe per `everyMs` at most, so its line is as rare.
  let probedAt = Number.NEGATIVE_INFINITY;
  const probe = (nodes: readonly string[]) => {
    if (Date.now() - probedAt < everyMs) return;
    probedAt = Date.now();
    void clusterNodeProblem(nodes).then((cause) => {
      if (cause) log.warn({ cause }, "redis cluster node unreachable");
    });
  };
  for (const client of clients) {
    client.on("error", (error: Error) => {
      warn({ err: error.message }, "redis connection error");
      if (clusterNodes && error.message.startsWith(SLOTS_NOT_FETCHED)) probe(clusterNodes);
    });
  }
}

/** ioredis' ClusterAllFailedError: no node given answered for the slot map. */
const SLOTS_NOT_FETCHED = "Failed to refresh slots cache";
