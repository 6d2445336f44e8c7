/** A failure of one enrichment run. Non-retryable ones fail the job at once (BullMQ's UnrecoverableError). */
export class EnrichmentError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly context: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "EnrichmentError";
  }
}

export class EnrichmentTimeoutError extends EnrichmentError {
  constructor(enrichment: string, timeoutMs: number) {
    super("enrichment.timeout", `${enrichment} did not finish within ${timeoutMs} ms`, true, {
      enrichment,
      timeoutMs,
    });
  }
}

export class InvalidJobError extends EnrichmentError {
  constructor(enrichment: string, what: "input" | "fact", issues: string) {
    super(
      `enrichment.invalid_${what}`,
      `${enrichment} produced or received an invalid ${what}: ${issues}`,
      false,
      {
        enrichment,
      },
    );
  }
}

/**
 * The provider asked for a pause (HTTP 429 Too Many Requests, or a quota): every worker of the enrichment's
 * queue takes no job for `retryAfterMs` (at most a minute), and this job goes back to wait without using one
 * of its attempts. `retryAfterMs(response.headers.get("retry-after"))` reads an HTTP answer's wish.
 */
export class RateLimitedError extends EnrichmentError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(code, message, true, { retryAfterMs });
  }
}
