import type { RedisClient } from "./create-redis.js";

/** True when Redis answers PING within `timeoutMs`; never throws, never waits longer. */
export async function ping(redis: RedisClient, timeoutMs = 500): Promise<boolean> {
  if (redis.status !== "ready") return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const answer = redis.ping().then(
    (reply) => reply === "PONG",
    () => false,
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
