import type { MxRecord } from "node:dns";
import type { MxStatus } from "./email-domain-fact.js";

/**
 * Resolves a domain's MX records. Rejects with a node:dns error (a string `code` such as ENOTFOUND,
 * ENODATA, ETIMEOUT) when the lookup fails, and with `signal.reason` when the signal aborts it.
 */
export type ResolveMx = (domain: string, signal: AbortSignal) => Promise<readonly MxRecord[]>;

// The name does not exist (NXDOMAIN), or exists without MX records (NOERROR, no answer).
const ABSENT_CODES = new Set(["ENOTFOUND", "ENODATA"]);

/**
 * What the MX records say about a domain. Only an authoritative "no" is "absent"; a lookup that could not
 * be completed (timeout, SERVFAIL, refused, unreachable resolver) is "unknown", because a resolver failure
 * must never be what denies a user. A null MX (RFC 7505: `MX 0 .`, "this domain takes no mail") is absent.
 * An abort rejects with the signal's reason: the run is being given up, not answered.
 */
export async function lookupMx(domain: string, resolveMx: ResolveMx, signal: AbortSignal): Promise<MxStatus> {
  signal.throwIfAborted();
  try {
    const records = await resolveMx(domain, signal);
    return records.some((record) => record.exchange !== "" && record.exchange !== ".") ? "present" : "absent";
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    const code = (error as { code?: unknown } | null)?.code;
    // An error without a DNS code is a bug in the resolver function, not an answer about the domain.
    if (typeof code !== "string") throw error;
    return ABSENT_CODES.has(code) ? "absent" : "unknown";
  }
}
