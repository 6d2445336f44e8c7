import { ping, type RedisClient } from "@gatehouse/redis";
import type { Registry } from "@gatehouse/telemetry";
import type { FastifyPluginAsync } from "fastify";

export interface HealthRoutesOptions {
  redis: RedisClient;
  registry: Registry;
}

/** `/healthz`: the process is alive. `/readyz`: and Redis answers. `/metrics`: Prometheus text format. */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { redis, registry }) => {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const redisUp = await ping(redis, 500);
    return reply
      .code(redisUp ? 200 : 503)
      .send({ status: redisUp ? "ready" : "unavailable", redis: redisUp });
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
};
