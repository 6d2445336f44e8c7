import { describe, expect, it } from "vitest";
import { CidrSet } from "./cidr-set.js";
import { type IpRange, parseIpRange } from "./ip-range.js";
import { parseBlocklist } from "./parse-blocklist.js";

const setOf = (...blocks: string[]) =>
  CidrSet.from(
    blocks.map((block) => {
      const range = parseIpRange(block);
      if (range === undefined) throw new Error(`bad test block ${block}`);
      return range;
    }),
  );

describe("CidrSet", () => {
  const set = setOf("10.0.0.0/8", "192.0.2.0/24", "198.51.100.7", "2001:db8::/32", "2001:db8:ffff::1/128");

  it.each([
    ["the first address of a block", "10.0.0.0", true],
    ["the last address of a block", "10.255.255.255", true],
    ["just below a block", "9.255.255.255", false],
    ["just above a block", "11.0.0.0", false],
    ["a /32 itself", "198.51.100.7", true],
    ["next to a /32", "198.51.100.8", false],
    ["inside a /24", "192.0.2.128", true],
    ["an IPv4-mapped address inside a block", "::ffff:192.0.2.1", true],
    ["an IPv4-mapped address outside", "::ffff:192.0.3.1", false],
    ["the first IPv6 address of a block", "2001:db8::", true],
    ["the last IPv6 address of a block", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true],
    ["just below an IPv6 block", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false],
    ["just above an IPv6 block", "2001:db9::", false],
    ["an invalid address", "not-an-ip", false],
  ])("%s: %s → %s", (_label, address, expected) => {
    expect(set.has(address)).toBe(expected);
  });

  it("keeps the families apart: a v4 block does not hold the v6 address with the same bits", () => {
    expect(setOf("0.0.0.0/0").has("::1")).toBe(false);
    expect(setOf("::/0").has("1.2.3.4")).toBe(false);
    expect(setOf("0.0.0.0/0").has("255.255.255.255")).toBe(true);
    expect(setOf("::/0").has("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toBe(true);
  });

  it("matches a /128 and nothing around it", () => {
    const single = setOf("2001:db8::5/128");
    expect([single.has("2001:db8::4"), single.has("2001:db8::5"), single.has("2001:db8::6")]).toEqual([
      false,
      true,
      false,
    ]);
  });

  it("merges overlapping, nested, duplicate and adjacent blocks", () => {
    const merged = setOf(
      "10.0.0.0/24",
      "10.0.1.0/24",
      "10.0.0.128/25",
      "10.0.0.0/24",
      "10.0.3.0/24",
      "::/127",
      "::2/127",
    );
    expect(merged.size).toBe(3);
    expect(merged.has("10.0.1.255")).toBe(true);
    expect(merged.has("10.0.2.0")).toBe(false);
    expect(merged.has("10.0.3.0")).toBe(true);
    expect(merged.has("::3")).toBe(true);
  });

  it("is empty without ranges", () => {
    const empty = CidrSet.from([]);
    expect(empty.size).toBe(0);
    expect(empty.has("1.2.3.4")).toBe(false);
    expect(empty.has("::1")).toBe(false);
  });

  it("agrees with a linear scan over many random blocks", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const ranges: IpRange[] = [];
    for (let i = 0; i < 2_000; i++) {
      const prefix = 8 + Math.floor(random() * 25);
      const size = 2 ** (32 - prefix);
      const first = Math.floor((random() * 2 ** 32) / size) * size;
      ranges.push({ family: 4, first, last: first + size - 1 });
    }
    const many = CidrSet.from(ranges);
    for (let i = 0; i < 2_000; i++) {
      const value = Math.floor(random() * 2 ** 32);
      const expected = ranges.some((range) => range.first <= value && value <= range.last);
      expect(many.has({ family: 4, value })).toBe(expected);
    }
  });
});

describe("CidrSet at the size of the largest feeds", () => {
  // FireHOL's aggregate sets and some commercial feeds hold hundreds of thousands of blocks. The bounds are
  // generous (this is not a benchmark): a linear scan would take minutes for these lookups, not seconds.
  it("loads 300,000 IPv4 and 50,000 IPv6 blocks from text and answers 200,000 lookups quickly", () => {
    // xorshift32: integer arithmetic, so the sequence does not collapse as a large LCG in doubles would.
    let state = 7;
    const random = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) / 2 ** 32;
    };
    const lines: string[] = [];
    const members: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      const prefix = 24 + Math.floor(random() * 9);
      const octets = [0, 0, 0, 0].map(() => Math.floor(random() * 256));
      lines.push(`${octets.join(".")}/${prefix}`);
      if (i % 100 === 0) members.push(octets.join("."));
    }
    for (let i = 0; i < 50_000; i++) {
      const groups = [0x2001, 0xdb8, ...[0, 0, 0].map(() => Math.floor(random() * 65_536))];
      lines.push(`${groups.map((group) => group.toString(16)).join(":")}::/64`);
      if (i % 100 === 0) members.push(`${groups.map((group) => group.toString(16)).join(":")}::1`);
    }

    const loadStarted = performance.now();
    const { ranges, skipped } = parseBlocklist(lines.join("\n"));
    const set = CidrSet.from(ranges);
    const loadMs = performance.now() - loadStarted;
    expect(ranges).toHaveLength(350_000);
    expect(skipped).toBe(0);
    expect(set.size).toBeGreaterThan(300_000);
    expect(set.size).toBeLessThanOrEqual(350_000);

    const probes = Array.from({ length: 200_000 }, (_, i) =>
      i % 4 === 3
        ? `2001:db8:${Math.floor(random() * 65_536).toString(16)}::1`
        : [0, 0, 0, 0].map(() => Math.floor(random() * 256)).join("."),
    );
    const lookupStarted = performance.now();
    let hits = 0;
    for (const probe of probes) if (set.has(probe)) hits++;
    const lookupMs = performance.now() - lookupStarted;

    expect(members.every((member) => set.has(member))).toBe(true);
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThan(probes.length);
    console.info(
      `CidrSet: ${ranges.length} blocks parsed and merged into ${set.size} ranges in ${loadMs.toFixed(0)} ms; ` +
        `${probes.length} lookups in ${lookupMs.toFixed(0)} ms`,
    );
    expect(loadMs).toBeLessThan(15_000);
    expect(lookupMs).toBeLessThan(5_000);
  });
});
