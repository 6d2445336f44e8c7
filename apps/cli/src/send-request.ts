import { type Decision, interceptorAnswerSchema } from "@gatehouse/contracts";
import { NetworkError } from "./errors/network-error.js";
import { type PreparedRequest, prepareSignedRequest, type SignInput } from "./signed-request.js";

/** How long `send` waits for an answer; Scalekit recommends 3-5 s timeouts, so 10 s is generous. */
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface SendInput extends SignInput {
  /** Give up after this many milliseconds. Default: {@link DEFAULT_TIMEOUT_MS}. */
  timeoutMs?: number | undefined;
}

export interface SendResult {
  request: PreparedRequest;
  /** HTTP status of the answer. */
  status: number;
  /** The answer body parsed as JSON; `undefined` when it is not JSON. */
  answer: unknown;
  /** The answer body as received. */
  answerText: string;
  /** Whether `answer` is a valid interceptor answer (what Scalekit accepts). */
  valid: boolean;
  decision?: Decision;
  /** From sending the request to the last byte of the answer. */
  latencyMs: number;
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  // fetch wraps the socket error: TypeError("fetch failed", { cause: Error("connect ECONNREFUSED …") }).
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    if (cause.message !== "") return cause.message;
    if (typeof code === "string") return code;
  }
  return String(cause);
}

/**
 * Signs and POSTs one interceptor request, the way Scalekit does. Any HTTP answer is a result, whatever
 * its status or decision; only getting no answer at all throws a {@link NetworkError}.
 */
export async function sendInterceptorRequest(input: SendInput): Promise<SendResult> {
  const request = prepareSignedRequest(input);
  const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  let status: number;
  let answerText: string;
  try {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = response.status;
    answerText = await response.text();
  } catch (error) {
    throw new NetworkError(request.url, describe(error, timeoutMs), { cause: error });
  }
  const latencyMs = Math.round((performance.now() - started) * 100) / 100;

  let answer: unknown;
  try {
    answer = JSON.parse(answerText);
  } catch {
    answer = undefined;
  }
  const parsed = interceptorAnswerSchema.safeParse(answer);
  return {
    request,
    status,
    answer,
    answerText,
    valid: parsed.success,
    ...(parsed.success ? { decision: parsed.data.decision } : {}),
    latencyMs,
  };
}
