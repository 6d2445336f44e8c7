import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/**
 * The canonical form of an IP address: IPv4 dotted decimal, IPv6 as RFC 5952 (lower case, longest zero run
 * compressed), an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as its IPv4 address. Undefined for anything
 * else, including IPv4 forms that only some parsers take (`010.1.1.1`, `0x7f.1`) and zoned addresses
 * (`fe80::1%eth0`), whose zone means nothing off the host.
 */
export function normalizeIp(raw: string): string | undefined {
  const text = raw.trim();
  const family = isIP(text);
  // node:net accepts only plain dotted decimal for IPv4 (no leading zeros): already canonical.
  if (family === 4) return text;
  if (family === 0 || text.includes("%")) return undefined;
  const address = ipaddr.parse(text);
  if (address instanceof ipaddr.IPv6) {
    return address.isIPv4MappedAddress() ? address.toIPv4Address().toString() : address.toRFC5952String();
  }
  return address.toString();
}
