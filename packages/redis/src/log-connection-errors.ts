import { throttledLog } from "@gatehouse/telemetry";
import type { RedisClient } from "./create-redis.js";

/** The one method of a logger this needs (pino's, for one). */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Logs the clients' connection errors, at most one line per `everyMs` for all of them together: while
 * Redis is away every client reports every reconnection attempt, and one line says as much as hundreds.
 * Listening also keeps an unhandled 'error' event from crashing the process.
 */
export function logConnectionErrors(clients: readonly RedisClient[], log: WarnLogger, everyMs = 5_000): void {
  const warn = throttledLog((fields, message) => log.warn(fields, message), everyMs);
  for (const client of clients) {
    client.on("error", (error: Error) => warn({ err: error.message }, "redis connection error"));
  }
}
