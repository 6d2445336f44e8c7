import { createLogger, stopOnSignals } from "@gatehouse/telemetry";
import { parseWorkerEnv } from "./env.js";
import { startWorkers } from "./start-workers.js";

const boot = createLogger({ name: "worker" });
let env: ReturnType<typeof parseWorkerEnv>;
try {
  env = parseWorkerEnv(process.env);
} catch (error) {
  boot.fatal((error as Error).message);
  process.exit(78);
}

const log = createLogger({ name: "worker", level: env.LOG_LEVEL });
const running = await startWorkers(env, log, process.env).catch((error: unknown) => {
  log.fatal({ err: error }, "worker cannot start");
  process.exit(78);
});

stopOnSignals({
  log,
  message: "shutting down: finishing in-flight jobs",
  stop: () => running.close(),
  forceAfterMs: 30_000,
});
