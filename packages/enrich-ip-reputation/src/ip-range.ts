import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

/** An address as a number: IPv4 fits a double exactly, IPv6 needs a bigint. */
export type IpValue =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly value: bigint };

/** An inclusive range of addresses of one family. */
export type IpRange =
  | { readonly family: 4; readonly first: number; readonly last: number }
  | { readonly family: 6; readonly first: bigint; readonly last: bigint };

const PREFIX = /^[0-9]{1,3}$/;

/** The value of a dotted-quad that isIP has already accepted (blocklists hold hundreds of thousands). */
function ipv4Number(text: string): number {
  let value = 0;
  let octet = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46) {
      value = value * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + code - 48;
    }
  }
  return value * 256 + octet;
}

/**
 * The value of an IPv4 or IPv6 address, strictly written (as `node:net` isIP takes it, without a zone).
 * An IPv4-mapped IPv6 address is its IPv4 address, so `::ffff:1.2.3.4` matches `1.2.3.0/24`.
 */
export function ipValue(text: string): IpValue | undefined {
  const family = isIP(text);
  if (family === 4) return { family: 4, value: ipv4Number(text) };
  if (family !== 6 || text.includes("%")) return undefined;
  const address = ipaddr.IPv6.parse(text);
  if (address.isIPv4MappedAddress())
    return { family: 4, value: ipv4Number(address.toIPv4Address().toString()) };
  let value = 0n;
  for (const byte of address.toByteArray()) value = (value << 8n) | BigInt(byte);
  return { family: 6, value };
}

/**
 * The range an address or CIDR block covers: `1.2.3.4`, `1.2.3.0/24`, `2001:db8::/32`. Host bits below
 * the prefix are ignored (`1.2.3.4/24` is `1.2.3.0/24`). An IPv4-mapped block (`::ffff:1.2.3.0/120`) is
 * the IPv4 block it maps, and needs a prefix of at least 96. Undefined when the text is neither.
 */
export function parseIpRange(text: string): IpRange | undefined {
  const slash = text.indexOf("/");
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const address = ipValue(addressText);
  if (address === undefined) return undefined;
  const mapped = address.family === 4 && addressText.includes(":");
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!PREFIX.test(prefixText)) return undefined;
    prefix = Number(prefixText) - (mapped ? 96 : 0);
    if (prefix < 0 || prefix > bits) return undefined;
  }
  if (address.family === 4) {
    const size = 2 ** (32 - prefix);
    const first = address.value - (address.value % size);
    return { family: 4, first, last: first + size - 1 };
  }
  const size = 1n << BigInt(128 - prefix);
  const first = address.value - (address.value % size);
  return { family: 6, first, last: first + size - 1n };
}
