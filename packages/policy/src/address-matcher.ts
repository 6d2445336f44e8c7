import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** An address as matchers take it, IPv4-mapped IPv6 seen as the IPv4 address; undefined if it is not one. */
export function parseAddress(ip: string): Address | undefined {
  try {
    return ipaddr.process(ip);
  } catch {
    return undefined;
  }
}

/** Why an entry of an address list is unusable, or undefined when it is an address or a CIDR block. */
export function addressEntryProblem(entry: string): string | undefined {
  if (ipaddr.isValid(entry)) return undefined;
  try {
    ipaddr.parseCIDR(entry);
    return undefined;
  } catch {
    return `"${entry}" is not an IP address or CIDR block`;
  }
}

/**
 * Addresses and CIDR blocks written in a policy (IPv4 and IPv6). A policy's lists are short; a scan of
 * the blocks of the address' family costs well under a microsecond each. Large feeds belong in the
 * ip-reputation enrichment's blocklists.
 */
export class AddressMatcher {
  readonly #v4: [ipaddr.IPv4, number][] = [];
  readonly #v6: [ipaddr.IPv6, number][] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.includes("/")
        ? ipaddr.parseCIDR(entry)
        : [ipaddr.process(entry), undefined];
      const range =
        address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()
          ? (address as ipaddr.IPv6).toIPv4Address()
          : address;
      const width =
        bits === undefined ? (range.kind() === "ipv4" ? 32 : 128) : range === address ? bits : bits - 96;
      if (range.kind() === "ipv4") this.#v4.push([range as ipaddr.IPv4, width]);
      else this.#v6.push([range as ipaddr.IPv6, width]);
    }
  }

  has(address: Address): boolean {
    if (address.kind() === "ipv4") {
      const v4 = address as ipaddr.IPv4;
      return this.#v4.some(([range, bits]) => v4.match(range, bits));
    }
    const v6 = address as ipaddr.IPv6;
    return this.#v6.some(([range, bits]) => v6.match(range, bits));
  }
}
