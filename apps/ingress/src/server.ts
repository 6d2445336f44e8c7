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

await app.listen({ port: env.PORT, host: env.HOST });
