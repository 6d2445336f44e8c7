import {
  EnrichmentError,
  type EnrichmentHandler,
  InvalidJobError,
  type StartingHandler,
} from "@gatehouse/enrichment-sdk";
import ipaddr from "ipaddr.js";
import type { DnsblLookup } from "./dnsbl.js";
import { ipValue } from "./ip-range.js";
import type { IpReputationFact } from "./ip-reputation-fact.js";
import type { IpReputationInput } from "./ip-reputation-input.js";
import type { Blocklist, BlocklistSummary } from "./load-blocklists.js";
import { type MaxmindLookup, NO_MAXMIND_DETAILS } from "./maxmind-databases.js";

/** One configured blocklist as the handler sees it: a file's never changes, a feed's is replaced. */
export interface BlocklistSlot {
  readonly name: string;
  /** The list as loaded now; undefined while a feed has never been downloaded. */
  current(): Blocklist | undefined;
}

export interface IpReputationHandlerOptions {
  /** In configuration order, which is the order of `lists` in a fact. */
  readonly blocklists: readonly BlocklistSlot[];
  readonly maxmind?: MaxmindLookup | undefined;
  readonly dnsbl?: DnsblLookup | undefined;
  /** Starts the URL feeds' refresh (see feed-store.ts); absent without URL feeds. */
  readonly start?: StartingHandler<IpReputationInput, IpReputationFact>["start"];
}

export interface IpReputationHandler extends EnrichmentHandler<IpReputationInput, IpReputationFact> {
  /** What each loaded list holds now, including how many malformed lines were skipped. */
  readonly blocklists: readonly BlocklistSummary[];
  /** With URL feeds: schedules their refresh and loads them (the worker calls it; see StartingHandler). */
  readonly start?: StartingHandler<IpReputationInput, IpReputationFact>["start"];
}

/**
 * The worker side of the ip-reputation enrichment: blocklist and MaxMind lookups in memory, DNSBL queries
 * over DNS. MaxMind and DNSBL are asked only about ordinary (`unicast`) addresses: a private, loopback or
 * reserved address is in no zone and no database, and asking a DNSBL about it leaks internal addresses.
 */
export function createIpReputationHandler(options: IpReputationHandlerOptions): IpReputationHandler {
  const { blocklists, maxmind, dnsbl } = options;
  return {
    get blocklists() {
      return blocklists.flatMap((slot) => slot.current()?.summary ?? []);
    },

    ...(options.start !== undefined && { start: options.start }),

    async run({ ip }, { signal }) {
      const value = ipValue(ip);
      if (value === undefined)
        throw new InvalidJobError("ip-reputation", "input", `"${ip}" is not an IP address`);
      const lists: string[] = [];
      for (const slot of blocklists) {
        const list = slot.current();
        // A fact without one of the configured lists would be cached as "not listed" for an hour.
        if (list === undefined) {
          throw new EnrichmentError(
            "ip_reputation.feed_not_loaded",
            `IP blocklist feed "${slot.name}" has not been downloaded yet`,
            true,
            { list: slot.name },
          );
        }
        if (list.set.has(value)) lists.push(slot.name);
      }
      const range = ipaddr.parse(ip).range();
      const ordinary = range === "unicast";
      if (ordinary && dnsbl !== undefined) lists.push(...(await dnsbl(value, signal)));
      return {
        ip,
        lists,
        listed: lists.length > 0,
        range,
        ...(ordinary && maxmind !== undefined ? maxmind(ip) : NO_MAXMIND_DETAILS),
      };
    },
  };
}
