import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger } from "pino";

/**
 * The JSON logger every process uses. Secrets are redacted wherever they appear under these keys, so a
 * configuration object can be logged as is.
 */
/** `destination`: where lines go. Default: stdout. */
export function createLogger(options: {
  name: string;
  level?: string;
  destination?: DestinationStream;
}): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? "info",
      redact: {
        paths: [
          "secret",
          "secrets",
          "*.secret",
          "*.secrets",
          "SCALEKIT_INTERCEPTOR_SECRET",
          "*.SCALEKIT_INTERCEPTOR_SECRET",
          "headers['interceptor-signature']",
          "adminToken",
        ],
        censor: "[redacted]",
      },
    },
    options.destination ?? pino.destination(1),
  );
}
