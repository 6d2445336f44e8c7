import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// A stand-in ingress for the CLI's tests. It checks signatures with its own HMAC code, not with
// @gatehouse/signature, so a bug shared by the CLI and that package cannot hide itself.

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether any `v1,` entry of `interceptor-signature` matches the body, id and timestamp. */
  signatureValid: boolean;
  /** Now minus `interceptor-timestamp`, in seconds. */
  ageSeconds: number;
}

export interface EchoIngress {
  url: string;
  seen: SeenRequest[];
  close: () => Promise<void>;
}

export interface EchoOptions {
  secret: string;
  /** Reply with this text instead of a decision (to test answers that are not interceptor answers). */
  rawReply?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? "") : (value ?? "");
}

/** Recomputes the Standard Webhooks signature: base64 HMAC-SHA256 of `${id}.${timestamp}.${body}`. */
export function signatureMatches(secret: string, headers: IncomingHttpHeaders, body: Buffer): boolean {
  const key = Buffer.from(secret.slice(secret.indexOf("_") + 1), "base64");
  const id = header(headers, "interceptor-id");
  const timestamp = header(headers, "interceptor-timestamp");
  const expected = createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest();
  return header(headers, "interceptor-signature")
    .split(" ")
    .some((entry) => {
      const [version, value] = entry.split(",");
      if (version !== "v1" || value === undefined) return false;
      const given = Buffer.from(value, "base64");
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
}

/** Starts the stand-in on 127.0.0.1, on a free port. It answers ALLOW to valid, fresh requests, else DENY. */
export async function startEchoIngress(options: EchoOptions): Promise<EchoIngress> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const signatureValid = signatureMatches(options.secret, req.headers, body);
      const ageSeconds = Math.floor(Date.now() / 1000) - Number(header(req.headers, "interceptor-timestamp"));
      seen.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body,
        signatureValid,
        ageSeconds,
      });
      const ok = signatureValid && Math.abs(ageSeconds) <= 300;
      const reply =
        options.rawReply ??
        JSON.stringify(
          ok
            ? { decision: "ALLOW", echo: { path: req.url } }
            : { decision: "DENY", error: { message: signatureValid ? "stale" : "bad signature" } },
        );
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(reply);
      }, options.delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** A fresh `whsec_` secret made without @gatehouse/signature. */
export function testSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}
