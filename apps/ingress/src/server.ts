import { createLogger, stopOnSignals } from "@gatehouse/telemetry";
import { buildApp } from "./app.js";
import { parseIngressEnv } from "./env.js";

const boot = createLogger({ name: "ingress" });
let env: ReturnType<typeof parseIngressEnv>;
try {
  env = parseIngressEnv(process.env);
} catch (error) {
  boot.fatal((error as Error).message);
  process.exit(78);
}

const app = await buildApp({ env }).catch((error: unknown) => {
  boot.fatal({ err: error }, "ingress cannot start");
  process.exit(78);
});

stopOnSignals({
  log: app.log,
  message: "shutting down: answering in-flight requests, then exiting",
  stop: () => app.close(),
  forceAfterMs: 10_000,
});

// A burst of new connections (every signup at once) overflowed Node's default backlog of 511 in the
// benchmark: dropped handshakes are retried by the client after 1 s, then 3 s — past Scalekit's timeout.
await app.listen({ port: env.PORT, host: env.HOST, backlog: 4096 });
