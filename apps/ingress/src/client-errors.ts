import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Logger, lineAt, throttledLogPerKey } from "@gatehouse/telemetry";
import { unreadable } from "./answers.js";
import type { IngressMetrics } from "./ingress-metrics.js";

/** Why Node's HTTP parser refused a request, by its error code: the status and the audit reason. */
function refusal(code: string | undefined): { status: number; reason: string } {
  if (code === "HPE_HEADER_OVERFLOW") return { status: 431, reason: "headers.too_large" };
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return { status: 408, reason: "request.timeout" };
  return { status: 400, reason: "request.malformed" };
}

/**
 * Fastify's `clientErrorHandler`: a request Node's HTTP layer refuses before any route sees it (headers over
 * its 16 KB limit, a request line or header it cannot parse, a request that did not arrive in time) still
 * gets an interceptor answer — a DENY body, with the HTTP status that says why — and is counted like every
 * other answer. The connection is closed after it, as Node does; one that never sent a byte is closed without
 * an answer. Logged once a second per reason at most.
 */
export function clientErrorHandler(metrics: IngressMetrics, log: Logger) {
  const infoRefused = throttledLogPerKey(lineAt(log, "info"), 1_000);
  return (error: NodeJS.ErrnoException, socket: Duplex): void => {
    // A reset connection has nobody to answer.
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    // A connection that sent nothing in the time a request has to arrive is closed without a word: an answer
    // written to it could be taken for the answer to a request a proxy sends on it at that very moment.
    if (error.code === "ERR_HTTP_REQUEST_TIMEOUT" && (socket as Socket).bytesRead === 0) {
      socket.destroy();
      return;
    }
    const { status, reason } = refusal(error.code);
    const answer = unreadable(reason);
    metrics.decisions({ trigger: "unknown", decision: answer.decision, reason });
    infoRefused(reason)({ reason, code: error.code }, "request refused by the HTTP parser");
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          "Content-Type: application/json; charset=utf-8\r\n" +
          `Content-Length: ${Buffer.byteLength(answer.json)}\r\n` +
          "Connection: close\r\n\r\n" +
          answer.json,
      );
    }
    socket.destroy(error);
  };
}
