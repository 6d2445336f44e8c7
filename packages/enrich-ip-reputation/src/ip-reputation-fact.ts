import type ipaddr from "ipaddr.js";
import { z } from "zod";

type IpaddrRange = ReturnType<ipaddr.IPv4["range"]> | ReturnType<ipaddr.IPv6["range"]>;

// Every range ipaddr.js can name, as a record so that a range added by an upgrade is a compile error here
// rather than a fact that fails validation in production.
const RANGES: Record<IpaddrRange, true> = {
  unicast: true,
  unspecified: true,
  multicast: true,
  linkLocal: true,
  loopback: true,
  reserved: true,
  benchmarking: true,
  amt: true,
  broadcast: true,
  carrierGradeNat: true,
  private: true,
  as112: true,
  uniqueLocal: true,
  ipv4Mapped: true,
  rfc6145: true,
  rfc6052: true,
  "6to4": true,
  teredo: true,
  as112v6: true,
  orchid2: true,
  droneRemoteIdProtocolEntityTags: true,
};

/** The special-purpose range an address is in, as ipaddr.js names it ("unicast" for an ordinary one). */
export const ADDRESS_RANGES = Object.keys(RANGES) as [IpaddrRange, ...IpaddrRange[]];
export type AddressRange = IpaddrRange;

/** The cached fact about one IP address. */
export const ipReputationFactSchema = z.object({
  /** The canonical address, as in the input. */
  ip: z.string(),
  /** The names of the configured blocklists that contain it, in configuration order. */
  lists: z.array(z.string()),
  /** Whether any list contains it. */
  listed: z.boolean(),
  range: z.enum(ADDRESS_RANGES),
  /** Autonomous system number and its organization (MaxMind ASN database); null when unknown. */
  asn: z.number().int().nullable(),
  asOrganization: z.string().nullable(),
  /** ISO 3166-1 alpha-2, upper case (MaxMind country database); null when unknown. */
  country: z.string().length(2).nullable(),
  /** VPN, proxy, Tor exit or other anonymizer (MaxMind anonymous-IP database); null when unknown. */
  anonymous: z.boolean().nullable(),
  /** A hosting or cloud provider's address; null when unknown. */
  hosting: z.boolean().nullable(),
});

export type IpReputationFact = z.infer<typeof ipReputationFactSchema>;
