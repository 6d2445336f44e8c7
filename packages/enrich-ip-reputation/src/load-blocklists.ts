import { readFile } from "node:fs/promises";
import { CidrSet } from "./cidr-set.js";
import { BlocklistLoadError } from "./errors/blocklist-load-error.js";
import { parseBlocklist } from "./parse-blocklist.js";

/** A blocklist to load: its name (reported in facts) and its file. */
export interface BlocklistSource {
  readonly name: string;
  readonly path: string;
}

/** What loading a blocklist found, without the ranges themselves. */
export interface BlocklistSummary extends BlocklistSource {
  /** Addresses and CIDR blocks read. */
  readonly entries: number;
  /** Disjoint ranges left after merging overlapping and adjacent blocks. */
  readonly ranges: number;
  /** Malformed lines, skipped. */
  readonly skipped: number;
}

export interface Blocklist {
  readonly summary: BlocklistSummary;
  readonly set: CidrSet;
}

/**
 * Reads and indexes one blocklist file. Throws a BlocklistLoadError naming the list and the file when it
 * cannot be read, or when it has lines but not one of them is an address (most likely the wrong file).
 */
export async function loadBlocklist(source: BlocklistSource): Promise<Blocklist> {
  let text: string;
  try {
    text = await readFile(source.path, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new BlocklistLoadError(source.name, source.path, reason, error);
  }
  const { ranges, skipped } = parseBlocklist(text);
  if (ranges.length === 0 && skipped > 0) {
    throw new BlocklistLoadError(
      source.name,
      source.path,
      `none of its ${skipped} non-comment lines is an IP address or CIDR block`,
    );
  }
  const set = CidrSet.from(ranges);
  return { summary: { ...source, entries: ranges.length, ranges: set.size, skipped }, set };
}

/** Loads every source, in order; the first failure rejects. */
export function loadBlocklists(sources: readonly BlocklistSource[]): Promise<Blocklist[]> {
  return Promise.all(sources.map(loadBlocklist));
}
