import { NetworkError } from "./errors/network-error.js";
import { UsageError } from "./errors/usage-error.js";

/** How long one admin request may take; a bulk batch writes up to thousands of records. */
const ADMIN_TIMEOUT_MS = 30_000;

export interface AdminClientOptions {
  /** The ingress base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** `GATEHOUSE_ADMIN_TOKEN`, as the ingress has it. */
  token: string;
  timeoutMs?: number;
}

export interface AdminAnswer {
  status: number;
  /** The body parsed as JSON; undefined when empty or not JSON. */
  body: Record<string, unknown> | undefined;
}

/** Talks to the ingress's admin API (`/admin/v1/…`). Only getting no answer at all throws. */
export class AdminClient {
  constructor(private readonly options: AdminClientOptions) {}

  async request(
    method: "GET" | "PUT" | "POST" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<AdminAnswer> {
    const url = new URL(
      `admin/v1${path}`,
      this.options.url.endsWith("/") ? this.options.url : `${this.options.url}/`,
    );
    let status: number;
    let text: string;
    try {
      const response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          ...(body !== undefined && { "content-type": "application/json" }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        redirect: "manual",
        signal: AbortSignal.timeout(this.options.timeoutMs ?? ADMIN_TIMEOUT_MS),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === "TimeoutError";
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const detail = timedOut
        ? `no answer within ${this.options.timeoutMs ?? ADMIN_TIMEOUT_MS} ms`
        : (cause?.code ?? cause?.message ?? String(error));
      throw new NetworkError(url.origin, detail, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const json =
      typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    return { status, body: json };
  }

  /**
   * Turns the answers every admin route may give into the CLI's errors: a refused token or an admin API that is
   * off is the user's to fix (exit 2); an ingress or Redis failure is not (exit 1).
   */
  failure(answer: AdminAnswer): Error {
    const message = typeof answer.body?.message === "string" ? answer.body.message : `HTTP ${answer.status}`;
    switch (answer.status) {
      case 401:
        return new UsageError(
          "the ingress refused the admin token: GATEHOUSE_ADMIN_TOKEN must be the ingress's",
          "GATEHOUSE_ADMIN_TOKEN",
        );
      case 404:
        return new UsageError(
          `no admin API at ${this.options.url}: it is off unless the ingress has GATEHOUSE_ADMIN_TOKEN set`,
          "--url",
        );
      case 413:
        return new UsageError(
          `the ingress refused a request as too large (${message}): try a smaller --batch`,
        );
      default:
        if (answer.status >= 400 && answer.status < 500)
          return new UsageError(`the ingress answered ${answer.status}: ${message}`);
        return new NetworkError(this.options.url, `the ingress answered ${answer.status}: ${message}`);
    }
  }
}
