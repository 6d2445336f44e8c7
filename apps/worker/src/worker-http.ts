import { type WorkerState, workerState } from "@gatehouse/enrichment-sdk";
import type { Registry } from "@gatehouse/telemetry";
import Fastify, { type FastifyInstance } from "fastify";
import type { RunningWorkers } from "./start-workers.js";

/** /readyz waits this long for Redis' PING. */
const REDIS_TIMEOUT_MS = 500;

/** How long a request has to arrive, headers and body. */
const REQUEST_ARRIVAL_MS = 10_000;

/**
 * The worker's HTTP port, for its orchestrator and its metrics scraper. It listens from the process' start;
 * `running()` is undefined until the workers have started (warming the cache, waiting for Redis).
 * - `/healthz`: 200 while no worker has stopped; 503 when one takes no jobs and was not asked to stop (its
 *   handler failed to start, or its loop ended) — what a restart may mend. Redis being away, or slow to
 *   come at boot, is not the process' fault, and a restart would not bring it.
 * - `/readyz`: 200 when every worker takes jobs and Redis answers.
 * - `/metrics`: Prometheus text format.
 * The health bodies name each enrichment's worker state.
 */
export function workerHttp(running: () => RunningWorkers | undefined, registry: Registry): FastifyInstance {
  // A request must arrive within 10 s, as on the ingress (apps/ingress/src/app.ts): without a limit, Fastify's
  // default, a client trickling bytes held a connection for ever.
  const app = Fastify({
    logger: false,
    requestTimeout: REQUEST_ARRIVAL_MS,
    http: { headersTimeout: REQUEST_ARRIVAL_MS, connectionsCheckingInterval: 1_000 },
  });
  const states = (workers: RunningWorkers): Record<string, WorkerState> =>
    Object.fromEntries([...workers.workers].map(([name, worker]) => [name, workerState(worker)]));

  app.get("/healthz", async (_request, reply) => {
    const current = running();
    if (!current) return { status: "starting" };
    const workers = states(current);
    const healthy = !Object.values(workers).includes("stopped");
    return reply.code(healthy ? 200 : 503).send({ status: healthy ? "ok" : "stopped", workers });
  });

  app.get("/readyz", async (_request, reply) => {
    const current = running();
    if (!current) return reply.code(503).send({ status: "starting" });
    const workers = states(current);
    const redis = await current.redisUp(REDIS_TIMEOUT_MS);
    const ready = redis && Object.values(workers).every((state) => state === "running");
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", redis, workers });
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  return app;
}
