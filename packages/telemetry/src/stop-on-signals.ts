export interface StopOnSignalsOptions {
  /** Any pino-style logger (the app's own, or Fastify's). */
  readonly log: { info(fields: object, message: string): void };
  /** Logged when the first signal arrives: what the process does before it exits. */
  readonly message: string;
  /** Stops the process' work gracefully; exit 0 when it resolves, 1 when it rejects. */
  readonly stop: () => Promise<unknown>;
  /** Exit 1 if `stop` has not settled by then. */
  readonly forceAfterMs: number;
}

/** SIGTERM or SIGINT: stop gracefully once (a second signal changes nothing), then exit. */
export function stopOnSignals(options: StopOnSignalsOptions): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    options.log.info({ signal }, options.message);
    const force = setTimeout(() => process.exit(1), options.forceAfterMs).unref();
    options.stop().then(
      () => {
        clearTimeout(force);
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
