import { setFlagsFromString } from "node:v8";
import { createLogger, stopOnSignals } from "@gatehouse/telemetry";
import { buildApp } from "./app.js";
import { parseIngressEnv } from "./env.js";

// No allocation-site pretenuring, set before the first request: once V8 has watched requests that waited for
// Redis keep their parsed bodies alive, it allocates every later request's objects (zod's output among them)
// straight into the old generation, where they keep the young objects they point to alive through every
// scavenge. Measured at 3,000 requests/s (--trace-gc-nvp, back-to-back runs): 640 → 365 KB surviving each
// scavenge, pauses 3.2 → 2.4 ms, p99 and CPU per request lower.
setFlagsFromString("--no-allocation-site-pretenuring");

const boot = createLogger({ name: "ingress" });
let env: ReturnType<typeof parseIngressEnv>;
try {
  env = parseIngressEnv(process.env);
} catch (error) {
  boot.fatal((error as Error).message);
  process.exit(78);
}

const log = createLogger({ name: "ingress", level: env.LOG_LEVEL });
const app = await buildApp({ env, log }).catch((error: unknown) => {
  boot.fatal({ err: error }, "ingress cannot start");
  process.exit(78);
});

stopOnSignals({
  log,
  message: "shutting down: answering in-flight requests, then exiting",
  stop: () => app.close(),
  forceAfterMs: 10_000,
});

// A burst of new connections (every signup at once) overflowed Node's default backlog of 511 in the
// benchmark: dropped handshakes are retried by the client after 1 s, then 3 s — past Scalekit's timeout.
const address = await app.listen({ port: env.PORT, host: env.HOST, backlog: 4096 });
log.info({ address }, "listening");
