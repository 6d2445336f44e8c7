import { type IpRange, parseIpRange } from "./ip-range.js";

export interface ParsedBlocklist {
  readonly ranges: IpRange[];
  /** Lines that are neither blank, a comment, nor an address or CIDR block. */
  readonly skipped: number;
}

const COMMENT = /[#;]/;
const WHITESPACE = /\s/;

/**
 * Reads a blocklist in any of the common text formats, IPv4 and IPv6 alike:
 * - one address or CIDR block per line (FireHOL `.netset` and `.ipset`, plain lists), `#` comments;
 * - Spamhaus DROP text, `1.10.16.0/20 ; SBL256894`, with `;` comments;
 * - Spamhaus DROP JSON lines, `{"cidr":"1.10.16.0/20","sblid":"SBL256894",…}` and a metadata line.
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

/** The entry on a text line: null for a blank or comment line, undefined when there is more than one word. */
function textEntry(line: string): string | null | undefined {
  const comment = line.search(COMMENT);
  const entry = (comment === -1 ? line : line.slice(0, comment)).trim();
  if (entry === "") return null;
  return WHITESPACE.test(entry) ? undefined : entry;
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
