import type { Logger } from "pino";

/** A log method as pino has it: fields, then the message. */
export type LogLine = (fields: Record<string, unknown>, message: string) => void;

/** `log`'s method for `level` as a LogLine (pino's own methods are overloaded, and do not fit one). */
export function lineAt(log: Logger, level: "info" | "warn" | "error"): LogLine {
  return (fields, message) => log[level](fields, message);
}

/**
 * `line`, written at most once per `everyMs`: the calls in between are counted, and the next line written
 * says how many it stands for (`suppressed`). For what comes by the thousand when it comes — every request's
 * failed read while Redis is slow, every client's reconnection error while it is away: one line says as
 * much as hundreds, and writing them all would cost the process the time it needs to answer.
 */
export function throttledLog(line: LogLine, everyMs: number): LogLine {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields, message) => {
    const now = Date.now();
    if (now - last < everyMs) {
      suppressed++;
      return;
    }
    line(suppressed > 0 ? { ...fields, suppressed } : fields, message);
    last = now;
    suppressed = 0;
  };
}

/**
 * A `throttledLog` for each key apart — a reason, an error code: a flood of one kind (forged signatures from
 * one attacker) neither floods the log nor hides the first line of another kind. Keys must come from a
 * bounded set: each one keeps its own line.
 */
export function throttledLogPerKey(line: LogLine, everyMs: number): (key: string) => LogLine {
  const lines = new Map<string, LogLine>();
  return (key) => {
    let throttled = lines.get(key);
    if (throttled === undefined) {
      throttled = throttledLog(line, everyMs);
      lines.set(key, throttled);
    }
    return throttled;
  };
}
