// The worker image's health check: exit 0 when the worker's Redis (REDIS_URL) answers PING within 2 s.
// It uses the ioredis the image already holds, so rediss:// and passwords work as they do for the worker.
import { Redis } from "ioredis";

const redis = new Redis(process.env.REDIS_URL || "redis://127.0.0.1:6379", {
  lazyConnect: true,
  connectTimeout: 2_000,
  commandTimeout: 2_000,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  retryStrategy: () => null,
});
redis.on("error", () => {});
try {
  await redis.connect();
  process.exitCode = (await redis.ping()) === "PONG" ? 0 : 1;
} catch {
  process.exitCode = 1;
} finally {
  redis.disconnect();
}
