import { readFile } from "node:fs/promises";
import { CidrSet } from "./cidr-set.js";
import { BlocklistLoadError } from "./errors/blocklist-load-error.js";
import { parseBlocklist } from "./parse-blocklist.js";

/** A blocklist file: its name (reported in facts) and its path. */
export interface FileBlocklistSource {
  readonly name: string;
  readonly path: string;
}

/** A blocklist downloaded from a URL and refreshed on a schedule (see feed-store.ts). */
export interface FeedBlocklistSource {
  readonly name: string;
  readonly url: string;
}

export type BlocklistSource = FileBlocklistSource | FeedBlocklistSource;

/** What indexing a blocklist found. */
export interface BlocklistCounts {
  /** Addresses and CIDR blocks read. */
  readonly entries: number;
  /** Disjoint ranges left after merging overlapping and adjacent blocks. */
  readonly ranges: number;
  /** Malformed lines, skipped. */
  readonly skipped: number;
}

/** What loading a blocklist found, without the ranges themselves. */
export type BlocklistSummary = BlocklistSource & BlocklistCounts;

export interface Blocklist {
  readonly summary: BlocklistSummary;
  readonly set: CidrSet;
}

/** Parses and indexes a blocklist's text, in any format parseBlocklist reads. */
export function indexBlocklist(text: string): { set: CidrSet; counts: BlocklistCounts } {
  const { ranges, skipped } = parseBlocklist(text);
  const set = CidrSet.from(ranges);
  return { set, counts: { entries: ranges.length, ranges: set.size, skipped } };
}

/**
 * Reads and indexes one blocklist file. Throws a BlocklistLoadError naming the list and the file when it
 * cannot be read, or when it has lines but not one of them is an address (most likely the wrong file).
 */
export async function loadBlocklist(source: FileBlocklistSource): Promise<Blocklist> {
  let text: string;
  try {
    text = await readFile(source.path, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BlocklistLoadError(source.name, source.path, reason, error);
  }
  const { set, counts } = indexBlocklist(text);
  if (counts.entries === 0 && counts.skipped > 0) {
    throw new BlocklistLoadError(
      source.name,
      source.path,
      `none of its ${counts.skipped} non-comment lines is an IP address or CIDR block`,
    );
  }
  return { summary: { ...source, ...counts }, set };
}

/** Loads every source, in order; the first failure rejects. */
export function loadBlocklists(sources: readonly FileBlocklistSource[]): Promise<Blocklist[]> {
  return Promise.all(sources.map(loadBlocklist));
}
