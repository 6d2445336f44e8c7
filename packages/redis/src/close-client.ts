import type { RedisClient } from "./create-redis.js";
import { answerWithin } from "./ping.js";

/**
 * Closes `client` without waiting on a Redis that is away: QUIT when connected (the replies to what was sent
 * come first), disconnect when QUIT is not answered within `quitTimeoutMs` (a hung Redis, a black-holed
 * network) or the client is not connected. QUIT on a client that is not connected would fail (no offline
 * queue), or wait behind the commands queued for a Redis that may never come back (with one); either way the
 * client would keep reconnecting after its process meant to close it.
 */
export async function closeClient(client: RedisClient, quitTimeoutMs = 1_000): Promise<void> {
  if ((await answerWithin(client, quitTimeoutMs, () => client.quit())) === undefined) client.disconnect();
}
