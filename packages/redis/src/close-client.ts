import type { RedisClient } from "./create-redis.js";

/**
 * Closes `client` without waiting on a Redis that is away: QUIT when connected (the replies to what was sent
 * come first), otherwise disconnect. QUIT on a client that is not connected would fail (no offline queue),
 * or wait behind the commands queued for a Redis that may never come back (with one); either way the client
 * would keep reconnecting after its process meant to close it.
 */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === "ready") {
    await client.quit().catch(() => client.disconnect());
  } else {
    client.disconnect();
  }
}
