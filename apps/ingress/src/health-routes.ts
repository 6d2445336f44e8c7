import { ping, type RedisClient } from "@gatehouse/redis";
import type { Registry } from "@gatehouse/telemetry";
import type { FastifyPluginAsync } from "fastify";

export interface HealthRoutesOptions {
  redis: RedisClient;
  /** Whether worker announcements are heard (a miss waiting for a fact is woken by its write). */
  subscribed: () => boolean;
  registry: Registry;
}

/**
 * `/healthz`: the process is alive. `/readyz`: and Redis answers, and announcements are heard.
 * `/metrics`: Prometheus text format.
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, options) => {
  const { redis, subscribed, registry } = options;
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const redisUp = await ping(redis, 500);
    const announcements = subscribed();
    const ready = redisUp && announcements;
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? "ready" : "unavailable", redis: redisUp, announcements });
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};
