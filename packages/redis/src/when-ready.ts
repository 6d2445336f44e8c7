import type { RedisClient } from "./create-redis.js";

/**
 * Resolves once `client` is connected and ready for commands. The request-path and background profiles
 * queue nothing while connecting, so their first command waits for this.
 */
export function whenReady(client: RedisClient): Promise<void> {
  return client.status === "ready"
    ? Promise.resolve()
    : new Promise<void>((resolve) => client.once("ready", () => resolve()));
}
