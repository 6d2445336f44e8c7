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
