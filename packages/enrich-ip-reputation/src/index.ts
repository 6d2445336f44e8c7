import { defineEnrichment } from "@gatehouse/enrichment-sdk";
import { ipReputationFactSchema } from "./ip-reputation-fact.js";
import { ipReputationInputFromRequest, ipReputationInputSchema } from "./ip-reputation-input.js";
import { ipReputationSettingsSchema } from "./settings.js";

export { CidrSet } from "./cidr-set.js";
export { BlocklistLoadError } from "./errors/blocklist-load-error.js";
export { DnsblError } from "./errors/dnsbl-error.js";
export { FeedError } from "./errors/feed-error.js";
export { MaxmindDatabaseError } from "./errors/maxmind-database-error.js";
export { type IpRange, type IpValue, ipValue, parseIpRange } from "./ip-range.js";
export {
  ADDRESS_RANGES,
  type AddressRange,
  type IpReputationFact,
  ipReputationFactSchema,
} from "./ip-reputation-fact.js";
export type { IpReputationHandler } from "./ip-reputation-handler.js";
export { type IpReputationInput, ipReputationInputSchema } from "./ip-reputation-input.js";
export type {
  BlocklistSource,
  BlocklistSummary,
  FeedBlocklistSource,
  FileBlocklistSource,
} from "./load-blocklists.js";
export { normalizeIp } from "./normalize-ip.js";
export { type ParsedBlocklist, parseBlocklist } from "./parse-blocklist.js";
export { type DnsblZone, type IpReputationSettings, ipReputationSettingsSchema } from "./settings.js";

/**
 * Whether the client's IP address is on the configured blocklists and DNSBLs, which special range it is in,
 * and, with MaxMind databases, its network, country and anonymity.
 *
 * TTL 1 hour: blocklist feeds change through the day, and a lookup costs little to redo.
 */
export const ipReputation = defineEnrichment({
  name: "ip-reputation",
  version: 2,
  input: ipReputationInputSchema,
  fact: ipReputationFactSchema,
  fromRequest: ipReputationInputFromRequest,
  subject: (input) => input.ip,
  ttlSeconds: 3_600,
  // Room for the DNSBL lookups (GATEHOUSE_DNSBL_TIMEOUT_MS, at most 4 s); without them a run takes microseconds.
  timeoutMs: 5_000,
  retry: { attempts: 3, backoffMs: 200 },
  concurrency: 32,
  settings: ipReputationSettingsSchema,
  async setup(settings) {
    // Imported here, not above: the ingress imports this package for fromRequest and subject only.
    const [{ createIpReputationSources }, { createIpReputationHandler }] = await Promise.all([
      import("./ip-reputation-sources.js"),
      import("./ip-reputation-handler.js"),
    ]);
    return createIpReputationHandler(await createIpReputationSources(settings));
  },
});
