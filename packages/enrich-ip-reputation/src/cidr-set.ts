import { type IpRange, type IpValue, ipValue } from "./ip-range.js";

/** Sorted, disjoint, non-adjacent ranges of one family, searched by bisection. */
class SortedRanges<T extends number | bigint> {
  constructor(
    private readonly firsts: ArrayLike<T>,
    private readonly lasts: ArrayLike<T>,
  ) {}

  get size(): number {
    return this.firsts.length;
  }

  has(value: T): boolean {
    // The last range that starts at or below the value is the only one that can hold it.
    let low = 0;
    let high = this.firsts.length - 1;
    let candidate = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if ((this.firsts[middle] as T) <= value) {
        candidate = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    return candidate !== -1 && value <= (this.lasts[candidate] as T);
  }
}

/**
 * The union of ranges, from their starts and their ends each sorted on its own: the k-th smallest start is
 * never above the k-th smallest end, so a sweep that counts open ranges finds where the union begins and
 * ends. Sorting two flat arrays natively is far faster than sorting pairs with a comparator. A start at
 * most one past an open end (`touches`) continues the range, so adjacent blocks merge too.
 */
function union<T extends number | bigint>(
  starts: ArrayLike<T>,
  ends: ArrayLike<T>,
  touches: (end: T, start: T) => boolean,
): { firsts: T[]; lasts: T[] } {
  const firsts: T[] = [];
  const lasts: T[] = [];
  let open = 0;
  let i = 0;
  for (let j = 0; j < ends.length; j++) {
    const end = ends[j] as T;
    for (; i < starts.length && touches(end, starts[i] as T); i++) {
      if (open === 0) firsts.push(starts[i] as T);
      open += 1;
    }
    open -= 1;
    if (open === 0) lasts.push(end);
  }
  return { firsts, lasts };
}

const compareBigints = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * A set of IPv4 and IPv6 ranges that answers membership in O(log n). Overlapping and adjacent blocks are
 * merged; IPv4 bounds live in typed arrays, so hundreds of thousands of blocks take a few megabytes.
 */
export class CidrSet {
  private constructor(
    private readonly v4: SortedRanges<number>,
    private readonly v6: SortedRanges<bigint>,
  ) {}

  static from(ranges: Iterable<IpRange>): CidrSet {
    const v4Starts: number[] = [];
    const v4Ends: number[] = [];
    const v6Starts: bigint[] = [];
    const v6Ends: bigint[] = [];
    for (const range of ranges) {
      if (range.family === 4) {
        v4Starts.push(range.first);
        v4Ends.push(range.last);
      } else {
        v6Starts.push(range.first);
        v6Ends.push(range.last);
      }
    }
    const v4 = union(
      Uint32Array.from(v4Starts).sort(),
      Uint32Array.from(v4Ends).sort(),
      (end, start) => start <= end + 1,
    );
    const v6 = union(
      v6Starts.sort(compareBigints),
      v6Ends.sort(compareBigints),
      (end, start) => start <= end + 1n,
    );
    return new CidrSet(
      new SortedRanges(Uint32Array.from(v4.firsts), Uint32Array.from(v4.lasts)),
      new SortedRanges(v6.firsts, v6.lasts),
    );
  }

  /** How many disjoint ranges remain once overlapping and adjacent blocks are merged. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** Whether the address is in a range; an IPv4-mapped IPv6 address is looked up as IPv4. False if invalid. */
  has(address: string | IpValue): boolean {
    const ip = typeof address === "string" ? ipValue(address) : address;
    if (ip === undefined) return false;
    return ip.family === 4 ? this.v4.has(ip.value) : this.v6.has(ip.value);
  }
}
