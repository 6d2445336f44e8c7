import { createLogger, createRegistry, stopOnSignals } from "@gatehouse/telemetry";
import { parseWorkerEnv } from "./env.js";
import { type RunningWorkers, startWorkers } from "./start-workers.js";
import { workerHttp } from "./worker-http.js";
import { observeWorkers } from "./worker-metrics.js";

const boot = createLogger({ name: "worker" });
let env: ReturnType<typeof parseWorkerEnv>;
try {
  env = parseWorkerEnv(process.env);
} catch (error) {
  boot.fatal((error as Error).message);
  process.exit(78);
}

const log = createLogger({ name: "worker", level: env.LOG_LEVEL });

// The port comes first: while the workers start (Redis may be slow to come) it says "starting".
let running: RunningWorkers | undefined;
// Event-loop lag sampled once a second: an idle worker is woken no more often than that for it.
const registry = createRegistry("gatehouse_", 1_000);
const http = workerHttp(() => running, registry);
try {
  const address = await http.listen({ port: env.GATEHOUSE_WORKER_PORT, host: env.HOST });
  log.info({ address }, "health and metrics listening");
} catch (error) {
  log.fatal(
    { err: error },
    `worker cannot listen on ${env.HOST}:${env.GATEHOUSE_WORKER_PORT} (GATEHOUSE_WORKER_PORT; 0 picks a free port)`,
  );
  process.exit(78);
}

// From here a signal stops whatever has started: during a start that waits for Redis, the port alone.
stopOnSignals({
  log,
  message: "shutting down: finishing in-flight jobs",
  // The port answers until the jobs are done: a liveness probe meanwhile sees "closing", not a dead process.
  stop: async () => {
    await running?.close();
    await http.close();
  },
  forceAfterMs: 30_000,
});

running = await startWorkers(env, log).catch((error: unknown) => {
  log.fatal({ err: error }, "worker cannot start");
  process.exit(78);
});
observeWorkers(registry, running);
