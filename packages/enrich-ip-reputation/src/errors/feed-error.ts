import { EnrichmentError } from "@gatehouse/enrichment-sdk";

/** A blocklist feed that could not be downloaded, or whose download is not a usable list. */
export class FeedError extends EnrichmentError {
  constructor(
    readonly list: string,
    readonly url: string,
    reason: string,
    cause?: unknown,
  ) {
    super("ip_reputation.feed_failed", `IP blocklist feed "${list}" (${url}): ${reason}`, true, {
      list,
      url,
    });
    this.name = "FeedError";
    if (cause !== undefined) this.cause = cause;
  }
}
