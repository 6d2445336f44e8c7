import { createLogger } from "@gatehouse/telemetry";
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

let closing = false;
const shutdown = (signal: string) => {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, "shutting down: answering in-flight requests, then exiting");
  const force = setTimeout(() => process.exit(1), 10_000).unref();
  app.close().then(
    () => {
      clearTimeout(force);
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

// A burst of new connections (every signup at once) overflowed Node's default backlog of 511 in the
// benchmark: dropped handshakes are retried by the client after 1 s, then 3 s — past Scalekit's timeout.
await app.listen({ port: env.PORT, host: env.HOST, backlog: 4096 });
