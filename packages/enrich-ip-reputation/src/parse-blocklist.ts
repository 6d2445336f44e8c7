import { type IpRange, parseIpRange } from "./ip-range.js";

export interface ParsedBlocklist {
  readonly ranges: IpRange[];
  /** Lines that are neither blank, a comment, nor an address or CIDR block. */
  readonly skipped: number;
}

const COMMENT = /[#;]/;
const WHITESPACE = /\s/;
const WORDS = /\s+/;
// The other lines of a Tor exit-addresses record: they describe the relay, not an address.
const TOR_RECORD_LINES = new Set(["ExitNode", "Published", "LastStatus"]);

/**
 * Reads a blocklist in any of the common text formats, IPv4 and IPv6 alike:
 * - one address or CIDR block per line (FireHOL `.netset` and `.ipset`, plain lists), `#` comments;
 * - Spamhaus DROP text, `1.10.16.0/20 ; SBL256894`, with `;` comments;
 * - Spamhaus DROP JSON lines, `{"cidr":"1.10.16.0/20","sblid":"SBL256894",…}` and a metadata line;
 * - Tor's `exit-addresses` (`ExitNode <fingerprint>`, `Published …`, `LastStatus …`,
 *   `ExitAddress 1.2.3.4 2024-01-01 00:00:00`); its bulk exit list is a plain list.
 * A malformed line is skipped and counted, never fatal: one bad line must not empty a whole feed.
 */
export function parseBlocklist(text: string): ParsedBlocklist {
  const ranges: IpRange[] = [];
  let skipped = 0;
  for (const line of text.replace(/^\uFEFF/, "").split("\n")) {
    const trimmed = line.trim();
    const entry = trimmed.startsWith("{") ? jsonEntry(trimmed) : textEntry(trimmed);
    if (entry === null) continue;
    const range = entry === undefined ? undefined : parseIpRange(entry);
    if (range === undefined) skipped += 1;
    else ranges.push(range);
  }
  return { ranges, skipped };
}

/**
 * The entry on a text line: null for a blank or comment line (or a Tor record line without an address),
 * undefined when there are several words and the line is not Tor's `ExitAddress <address> <date> <time>`.
 */
function textEntry(line: string): string | null | undefined {
  const comment = line.search(COMMENT);
  const entry = (comment === -1 ? line : line.slice(0, comment)).trim();
  if (entry === "") return null;
  if (!WHITESPACE.test(entry)) return entry;
  const [keyword, address] = entry.split(WORDS);
  if (keyword === "ExitAddress") return address;
  return keyword !== undefined && TOR_RECORD_LINES.has(keyword) ? null : undefined;
}

/** The `cidr` of a JSON line: null for the metadata line, undefined when there is no usable `cidr`. */
function jsonEntry(line: string): string | null | undefined {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== "object" || record === null) return undefined;
  const { cidr, type } = record as { cidr?: unknown; type?: unknown };
  if (typeof cidr === "string") return cidr;
  return type === "metadata" ? null : undefined;
}
