import { EnrichmentError } from "@gatehouse/enrichment-sdk";

/** A configured MaxMind database that cannot be used: the worker must not start without it. */
export class MaxmindDatabaseError extends EnrichmentError {
  constructor(
    readonly setting: string,
    readonly path: string,
    reason: string,
    cause?: unknown,
  ) {
    super("ip_reputation.maxmind_unusable", `${setting} (${path}) cannot be used: ${reason}`, false, {
      setting,
      path,
    });
    this.name = "MaxmindDatabaseError";
    if (cause !== undefined) this.cause = cause;
  }
}
