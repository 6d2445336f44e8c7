import type { RedisClient } from "./create-redis.js";

/**
 * What `command` answers if the client is connected and Redis answers within `timeoutMs`; otherwise
 * undefined. Never throws, never waits longer (a command queued behind a hung Redis is left to fail later).
 */
export async function answerWithin<T>(
  redis: RedisClient,
  timeoutMs: number,
  command: () => Promise<T>,
): Promise<T | undefined> {
  if (redis.status !== "ready") return undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  const answer = command().catch(() => undefined);
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when Redis answers PING within `timeoutMs`; never throws, never waits longer. */
export async function ping(redis: RedisClient, timeoutMs = 500): Promise<boolean> {
  return (await answerWithin(redis, timeoutMs, () => redis.ping())) === "PONG";
}
