import { type EnrichmentHandler, InvalidJobError } from "@gatehouse/enrichment-sdk";
import ipaddr from "ipaddr.js";
import { ipValue } from "./ip-range.js";
import type { IpReputationFact } from "./ip-reputation-fact.js";
import type { IpReputationInput } from "./ip-reputation-input.js";
import type { Blocklist, BlocklistSummary } from "./load-blocklists.js";

export interface IpReputationHandler extends EnrichmentHandler<IpReputationInput, IpReputationFact> {
  /** What each list held when loaded, including how many malformed lines were skipped. */
  readonly blocklists: readonly BlocklistSummary[];
}

/** The worker side of the ip-reputation enrichment: lookups in memory, no I/O. */
export function createIpReputationHandler(blocklists: readonly Blocklist[]): IpReputationHandler {
  return {
    blocklists: blocklists.map((list) => list.summary),

    async run({ ip }) {
      const value = ipValue(ip);
      if (value === undefined)
        throw new InvalidJobError("ip-reputation", "input", `"${ip}" is not an IP address`);
      const lists = blocklists.filter((list) => list.set.has(value)).map((list) => list.summary.name);
      return {
        ip,
        lists,
        listed: lists.length > 0,
        range: ipaddr.parse(ip).range(),
        asn: null,
        asOrganization: null,
        country: null,
        anonymous: null,
        hosting: null,
      };
    },
  };
}
