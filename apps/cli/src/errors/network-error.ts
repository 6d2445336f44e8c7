/** No HTTP answer came back: refused, reset, DNS, TLS or timeout. Exit code 1. */
export class NetworkError extends Error {
  readonly code = "cli.network";
  readonly retryable = true;
  readonly url: string;

  constructor(url: string, detail: string, options?: { cause?: unknown }) {
    super(`could not reach ${url}: ${detail}`, options);
    this.name = "NetworkError";
    this.url = url;
  }
}
