import { type Span, SpanStatusCode, type Tracer, type TracerProvider, trace } from "@opentelemetry/api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { inSpan } from "./span.js";

interface Recorded {
  name: string;
  ended: number;
  status?: number;
  exceptions: unknown[];
}

// A minimal recording tracer registered as the global provider (no SDK needed): inSpan's tracer is a proxy
// that delegates to it once registered. Each test file runs in its own process, so nothing leaks.
const spans: Recorded[] = [];
beforeAll(() => {
  const tracer = {
    startSpan(name: string) {
      const recorded: Recorded = { name, ended: 0, exceptions: [] };
      spans.push(recorded);
      const span = {
        end: () => void recorded.ended++,
        setStatus: (status: { code: number }) => {
          recorded.status = status.code;
          return span;
        },
        recordException: (exception: unknown) => void recorded.exceptions.push(exception),
      };
      return span as unknown as Span;
    },
  } as unknown as Tracer;
  const provider: TracerProvider = { getTracer: () => tracer };
  expect(trace.setGlobalTracerProvider(provider)).toBe(true);
});
afterAll(() => {
  trace.disable();
});
beforeEach(() => {
  spans.length = 0;
});

describe("inSpan", () => {
  it("returns what a synchronous function returns, in an ended span with no error", () => {
    let received: unknown;
    const value = inSpan("sync", (span) => {
      received = span;
      return { answer: 42 };
    });
    expect(value).toEqual({ answer: 42 });
    expect(received).toBeDefined();
    expect(spans).toEqual([{ name: "sync", ended: 1, exceptions: [] }]);
  });

  it("resolves with what an async function resolves with, and ends the span only then", async () => {
    let finish: (value: string) => void = () => {};
    const result = inSpan("async", () => new Promise<string>((resolve) => (finish = resolve)));
    expect(result).toBeInstanceOf(Promise);
    expect(spans[0]?.ended).toBe(0);
    finish("done");
    await expect(result).resolves.toBe("done");
    expect(spans).toEqual([{ name: "async", ended: 1, exceptions: [] }]);
  });

  it("rethrows a synchronous error as is, recording it and an error status", () => {
    const error = new TypeError("boom");
    expect(() =>
      inSpan("throws", () => {
        throw error;
      }),
    ).toThrow(error);
    expect(spans).toEqual([{ name: "throws", ended: 1, status: SpanStatusCode.ERROR, exceptions: [error] }]);
  });

  it("rethrows a non-Error throw as is, recording it as a string", () => {
    let caught: unknown;
    try {
      inSpan("throws-string", () => {
        throw 404;
      });
    } catch (thrown) {
      caught = thrown;
    }
    expect(caught).toBe(404);
    expect(spans[0]).toEqual({
      name: "throws-string",
      ended: 1,
      status: SpanStatusCode.ERROR,
      exceptions: ["404"],
    });
  });

  it("rejects with the same reason when the promise rejects, ending the span once", async () => {
    const error = new RangeError("later");
    await expect(inSpan("rejects", async () => Promise.reject(error))).rejects.toBe(error);
    await expect(inSpan("rejects-value", () => Promise.reject(7))).rejects.toBe(7);
    expect(spans).toEqual([
      { name: "rejects", ended: 1, status: SpanStatusCode.ERROR, exceptions: [error] },
      { name: "rejects-value", ended: 1, status: SpanStatusCode.ERROR, exceptions: ["7"] },
    ]);
  });

  it("nests: an inner span's value flows out of the outer one", async () => {
    expect(inSpan("outer", () => inSpan("inner", () => 1) + 1)).toBe(2);
    await expect(inSpan("outer-async", () => inSpan("inner-async", async () => "x"))).resolves.toBe("x");
    expect(spans.map((s) => [s.name, s.ended])).toEqual([
      ["outer", 1],
      ["inner", 1],
      ["outer-async", 1],
      ["inner-async", 1],
    ]);
  });
});
