import { Resolver } from "node:dns/promises";
import { DnsblError } from "./errors/dnsbl-error.js";
import type { IpValue } from "./ip-range.js";
import type { DnsblZone } from "./settings.js";

/** The A records of a name; rejects with node:dns errors (`code` ENOTFOUND, ENODATA, ETIMEOUT, …). */
export type ResolveA = (name: string, signal: AbortSignal) => Promise<string[]>;

/**
 * A-record lookups through node:dns (c-ares), one Resolver per lookup so that cancelling one cancels only its
 * own query. c-ares applies its timeout per server and may back off, so a deadline of our own bounds the
 * whole lookup and rejects with an ETIMEOUT error.
 */
export function createDnsResolveA(options: {
  readonly servers?: readonly string[] | undefined;
  readonly timeoutMs: number;
}): ResolveA {
  return async (name, signal) => {
    const deadline = AbortSignal.timeout(options.timeoutMs);
    const stop = AbortSignal.any([signal, deadline]);
    stop.throwIfAborted();
    const resolver = new Resolver({ timeout: options.timeoutMs, tries: 1 });
    if (options.servers !== undefined) resolver.setServers([...options.servers]);
    const cancel = () => resolver.cancel();
    stop.addEventListener("abort", cancel, { once: true });
    try {
      return await resolver.resolve4(name);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (!deadline.aborted) throw error;
      const message = `lookup of ${name} timed out after ${options.timeoutMs} ms`;
      throw Object.assign(new Error(message), { code: "ETIMEOUT", cause: error });
    } finally {
      stop.removeEventListener("abort", cancel);
    }
  };
}

/** The name a DNSBL is asked: reversed octets (IPv4) or reversed nibbles (IPv6), then the zone. */
export function dnsblQueryName(ip: IpValue, zone: string): string {
  if (ip.family === 4) {
    const octets = [0, 8, 16, 24].map((shift) => Math.floor(ip.value / 2 ** shift) % 256);
    return `${octets.join(".")}.${zone}`;
  }
  const nibbles = ip.value.toString(16).padStart(32, "0").split("").reverse();
  return `${nibbles.join(".")}.${zone}`;
}

// 127.0.0.0/8 is a listing (the last octet says which sub-list); 127.255.255.0/24 is an error code.
const LISTING = /^127\.(?!255\.255\.)\d+\.\d+\.\d+$/;
const NOT_LISTED = new Set(["ENOTFOUND", "ENODATA"]);

/** Which zones list an address: their names, in configuration order. */
export type DnsblLookup = (ip: IpValue, signal: AbortSignal) => Promise<string[]>;

/**
 * Asks every zone at once. NXDOMAIN (and no A record) is "not listed"; a 127.0.0.x answer is "listed"; any
 * other outcome rejects with a DnsblError, so an incomplete fact is never cached (see DnsblError).
 */
export function createDnsblLookup(zones: readonly DnsblZone[], resolve: ResolveA): DnsblLookup {
  return async (ip, signal) => {
    const listed = await Promise.all(
      zones.map(async ({ name, zone }) => {
        let answers: string[];
        try {
          answers = await resolve(dnsblQueryName(ip, zone), signal);
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          if (typeof code === "string" && NOT_LISTED.has(code)) return undefined;
          if (signal.aborted) throw error;
          const reason = error instanceof Error ? error.message : String(error);
          throw new DnsblError(zone, `no answer (${reason})`, true, error);
        }
        const unexpected = answers.find((answer) => !LISTING.test(answer));
        if (unexpected !== undefined) {
          const reason = `answered ${unexpected}, which is an error code or not a listing; check GATEHOUSE_DNS_SERVERS (public resolvers are often refused)`;
          throw new DnsblError(zone, reason, false);
        }
        return answers.length > 0 ? name : undefined;
      }),
    );
    return listed.filter((name) => name !== undefined);
  };
}
