/** A log method as pino has it: fields, then the message. */
export type LogLine = (fields: Record<string, unknown>, message: string) => void;

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
