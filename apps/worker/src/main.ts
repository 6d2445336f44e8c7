import { createLogger } from "@gatehouse/telemetry";
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

let closing = false;
const shutdown = (signal: string) => {
  if (closing) return;
  closing = true;
  log.info({ signal }, "shutting down: finishing in-flight jobs");
  const force = setTimeout(() => process.exit(1), 30_000).unref();
  running.close().then(
    () => {
      clearTimeout(force);
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
