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
  let last = 0;
  let suppressed = 0;
  for (const client of clients) {
    client.on("error", (error: Error) => {
      const now = Date.now();
      if (now - last < everyMs) {
        suppressed++;
        return;
      }
      log.warn({ err: error.message, ...(suppressed > 0 && { suppressed }) }, "redis connection error");
      last = now;
      suppressed = 0;
    });
  }
}
