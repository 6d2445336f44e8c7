import { EnrichmentError } from "@gatehouse/enrichment-sdk";

/**
 * A DNSBL zone that gave no usable answer. Retryable when the zone or the resolver failed for now (timeout,
 * SERVFAIL, refused connection); not when the zone answered with one of its error codes (127.255.255.x,
 * e.g. Spamhaus refusing queries that come through a public resolver), which retrying cannot change.
 */
export class DnsblError extends EnrichmentError {
  constructor(
    readonly zone: string,
    reason: string,
    retryable: boolean,
    cause?: unknown,
  ) {
    super(
      retryable ? "ip_reputation.dnsbl_unavailable" : "ip_reputation.dnsbl_refused",
      `DNSBL ${zone}: ${reason}`,
      retryable,
      { zone },
    );
    this.name = "DnsblError";
    if (cause !== undefined) this.cause = cause;
  }
}
