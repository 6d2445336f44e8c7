import { EnrichmentError } from "@gatehouse/enrichment-sdk";

/** A configured blocklist file that cannot be used: the worker must not start without it. */
export class BlocklistLoadError extends EnrichmentError {
  constructor(
    readonly list: string,
    readonly path: string,
    reason: string,
    cause?: unknown,
  ) {
    super(
      "ip_reputation.blocklist_unusable",
      `IP blocklist "${list}" (${path}) cannot be used: ${reason}`,
      false,
      {
        list,
        path,
      },
    );
    this.name = "BlocklistLoadError";
    if (cause !== undefined) this.cause = cause;
  }
}
