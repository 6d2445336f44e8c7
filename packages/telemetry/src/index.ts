export { createLogger, type Logger } from "./logger.js";
export {
  Counter,
  createRegistry,
  Gauge,
  Histogram,
  labelledCounter,
  latencyHistogram,
  Registry,
} from "./metrics.js";
export { inSpan } from "./span.js";
export { type StopOnSignalsOptions, stopOnSignals } from "./stop-on-signals.js";
export { type LogLine, lineAt, throttledLog, throttledLogPerKey } from "./throttled-log.js";
