import { connect } from "node:net";
import { interceptorAnswerSchema, type RequestFixtureName } from "@gatehouse/contracts";
import { DEFAULT_POLICY, type Policy, policySchema } from "@gatehouse/policy";
import { signedHeaders } from "@gatehouse/signature";
import type { FastifyInstance } from "fastify";
import { expect } from "vitest";
import { body, SECRET } from "./ingress-harness.js";

/** What a request that fails verification gets (fail closed, generic message). */
export const UNVERIFIED = { decision: "DENY", error: { message: "This request could not be verified." } };
/** What a verified request whose body cannot be used gets (or one refused before verification). */
export const UNREADABLE = { decision: "DENY", error: { message: "This request could not be processed." } };

/** The shipped default policy, but a fact that is not cached is never waited for: answers come at once. */
export const NO_WAIT_POLICY: Policy = policySchema.parse({
  ...DEFAULT_POLICY,
  triggers: Object.fromEntries(
    Object.entries(DEFAULT_POLICY.triggers).map(([trigger, policy]) => [
      trigger,
      { ...policy, onMiss: { ...policy?.onMiss, waitMs: 0 } },
    ]),
  ),
});

export interface Injected {
  status: number;
  /** The raw response body. */
  text: string;
  headers: Record<string, unknown>;
  ms: number;
}

export interface RawOptions {
  /** Default: `/pre-m2m-token-creation` (allowed by the default policy without reading any fact). */
  route?: string;
  /** Undefined sends no content-type header at all. */
  contentType?: string | undefined;
  /** Added after (and overriding) the signed headers. */
  headers?: Record<string, string | string[]>;
  /** Signs with this secret; `false` sends no signature headers. Default: the test secret. */
  secret?: string | false;
  id?: string;
  timestamp?: number;
  method?: "POST" | "GET" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "HEAD";
}

/** Injects exactly these body bytes, signed over exactly these bytes unless `secret: false`. */
export async function injectRaw(
  app: FastifyInstance,
  payload: Buffer | string,
  options: RawOptions = {},
): Promise<Injected> {
  const signed =
    options.secret === false
      ? {}
      : signedHeaders({
          secret: options.secret ?? SECRET,
          body: payload,
          ...(options.id !== undefined && { id: options.id }),
          ...(options.timestamp !== undefined && { timestamp: options.timestamp }),
        });
  const contentType = "contentType" in options ? options.contentType : "application/json";
  const started = performance.now();
  const response = await app.inject({
    method: options.method ?? "POST",
    url: `/auth/interceptors${options.route ?? "/pre-m2m-token-creation"}`,
    headers: {
      ...(contentType !== undefined && { "content-type": contentType }),
      ...signed,
      ...options.headers,
    },
    payload,
  });
  return {
    status: response.statusCode,
    text: response.body,
    headers: response.headers,
    ms: performance.now() - started,
  };
}

/** Asserts the interceptor contract: HTTP 200 (or 413) and a body that is a valid interceptor answer. */
export function expectAnswer(response: { status: number; text: string }, allowed = [200]) {
  expect(allowed, response.text).toContain(response.status);
  const parsed = interceptorAnswerSchema.safeParse(JSON.parse(response.text));
  expect(parsed.success, response.text).toBe(true);
  return parsed.data!;
}

/** Asserts an HTTP 200 DENY with exactly the given answer body. */
export function expectDeny(response: { status: number; text: string }, answer: object = UNVERIFIED) {
  expect({ status: response.status, answer: JSON.parse(response.text) }).toEqual({ status: 200, answer });
}

/**
 * After a batch of hostile input: one valid signed request is answered normally (ALLOW on the M2M route,
 * which reads no fact) and `/healthz` says ok.
 */
export async function expectStillAnswers(
  app: FastifyInstance,
  fixture: RequestFixtureName = "PRE_M2M_TOKEN_CREATION",
) {
  const valid = await injectRaw(app, JSON.stringify(body(fixture)));
  expect({ status: valid.status, answer: JSON.parse(valid.text) }).toEqual({
    status: 200,
    answer: { decision: "ALLOW" },
  });
  const health = await app.inject("/healthz");
  expect(health.statusCode).toBe(200);
  expect(health.json()).toEqual({ status: "ok" });
}

export interface RawResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes these exact bytes to a listening server on 127.0.0.1 and reads one HTTP/1.1 response (the request
 * should say `Connection: close`; the server may also close the connection itself, as Node does after a
 * parse error). Rejects when the connection closes without a response.
 */
export function rawHttp(port: number, bytes: Buffer | string, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    // The server may reset the connection after answering (it closes while unread request bytes remain).
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    socket.write(bytes);
  });
}

/**
 * Writes `start` to a listening server on 127.0.0.1, then one more byte of `drip` (if any) every `everyMs`, as
 * a slow client (slowloris) does, until the server closes the connection; resolves with its response (if it
 * wrote one) and how long it kept the connection. Gives up (rejects) after `timeoutMs`.
 */
export function trickleHttp(
  port: number,
  start: Buffer | string,
  options: { drip?: string; everyMs?: number; timeoutMs: number },
): Promise<{ response: RawResponse | undefined; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const startedAt = Date.now();
    const chunks: Buffer[] = [];
    let sent = 0;
    const { drip = "", everyMs = 1_000 } = options;
    const dripping = setInterval(() => {
      if (drip !== "" && socket.writable) socket.write(drip[sent++ % drip.length]!);
    }, everyMs);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection was still open after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(dripping);
      clearTimeout(timer);
      const closedAfterMs = Date.now() - startedAt;
      if (chunks.length === 0) return resolve({ response: undefined, closedAfterMs });
      try {
        resolve({ response: parseResponse(Buffer.concat(chunks)), closedAfterMs });
      } catch (error) {
        reject(error);
      }
    });
    if (start.length > 0) socket.write(start);
  });
}

function parseResponse(bytes: Buffer): RawResponse {
  const text = bytes.toString("latin1");
  const end = text.indexOf("\r\n\r\n");
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  if (end === -1 || !match) throw new Error(`no HTTP response: ${JSON.stringify(text)}`);
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(match[1]),
    headers,
    body: Buffer.from(text.slice(end + 4), "latin1").toString("utf8"),
  };
}

/** An HTTP/1.1 POST with exactly these header lines (duplicates allowed) and body, closing the connection. */
export function rawPost(path: string, headerLines: readonly string[], payload: Buffer | string): Buffer {
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const head = [
    `POST ${path} HTTP/1.1`,
    "Host: 127.0.0.1",
    "Connection: close",
    ...headerLines,
    `Content-Length: ${bytes.length}`,
    "",
    "",
  ].join("\r\n");
  return Buffer.concat([Buffer.from(head, "latin1"), bytes]);
}
