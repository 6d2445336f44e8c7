import { createLogger, type Logger } from "@gatehouse/telemetry";

/** A logger as the processes make it, whose lines (JSON text, one per entry) are kept for the test to read. */
export function capturedLog(name: string, level = "info"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger({ name, level, destination: { write: (line: string) => lines.push(line) } });
  return { log, lines };
}
