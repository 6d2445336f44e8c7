import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("gatehouse");

/**
 * Runs `fn` inside a span named `name`, recording an exception and an error status if it throws or
 * rejects. Without an OpenTelemetry SDK registered this is a no-op tracer and costs next to nothing.
 */
export function inSpan<T>(name: string, fn: (span: Span) => T): T {
  const span = tracer.startSpan(name);
  const fail = (error: unknown) => {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    throw error;
  };
  try {
    const result = fn(span);
    if (result instanceof Promise) {
      return result.then((value) => {
        span.end();
        return value;
      }, fail) as T;
    }
    span.end();
    return result;
  } catch (error) {
    return fail(error);
  }
}
