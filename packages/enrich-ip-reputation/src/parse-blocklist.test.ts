import { describe, expect, it } from "vitest";
import { parseIpRange } from "./ip-range.js";
import { parseBlocklist } from "./parse-blocklist.js";

const ranges = (...blocks: string[]) => blocks.map((block) => parseIpRange(block));

describe("parseBlocklist", () => {
  it("reads a FireHOL netset: comments, blank lines, addresses and CIDR blocks", () => {
    const text = [
      "#",
      "# firehol_level1",
      "# Maintainer      : FireHOL",
      "#",
      "",
      "0.0.0.0/8",
      "1.10.16.0/20",
      "223.254.0.0/16",
      "  ",
    ].join("\n");
    expect(parseBlocklist(text)).toEqual({
      ranges: ranges("0.0.0.0/8", "1.10.16.0/20", "223.254.0.0/16"),
      skipped: 0,
    });
  });

  it("reads an ipset of single addresses, with CRLF line ends, a BOM and trailing comments", () => {
    const text = "\uFEFF# ipset\r\n5.188.10.1\r\n5.188.10.2 # seen 2024-01-01\r\n2001:db8::1\r\n";
    expect(parseBlocklist(text)).toEqual({
      ranges: ranges("5.188.10.1", "5.188.10.2", "2001:db8::1"),
      skipped: 0,
    });
  });

  it("reads Spamhaus DROP text", () => {
    const text = [
      "; Spamhaus DROP List 2024/01/01 - (c) 2024 The Spamhaus Project SLU",
      "; Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT",
      "1.10.16.0/20 ; SBL256894",
      "2a06:e480::/29 ; SBL301771",
    ].join("\n");
    expect(parseBlocklist(text)).toEqual({ ranges: ranges("1.10.16.0/20", "2a06:e480::/29"), skipped: 0 });
  });

  it("reads Spamhaus DROP JSON lines, ignoring the metadata line", () => {
    const text = [
      '{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}',
      '{"cidr":"2a06:e480::/29","sblid":"SBL301771","rir":"ripencc"}',
      '{"type":"metadata","timestamp":1704067200,"size":2,"records":2,"copyright":"(c) 2024 The Spamhaus Project SLU"}',
    ].join("\n");
    expect(parseBlocklist(text)).toEqual({ ranges: ranges("1.10.16.0/20", "2a06:e480::/29"), skipped: 0 });
  });

  it("reads Tor's exit-addresses, one address per ExitAddress line, skipping malformed ones", () => {
    const text = [
      "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E",
      "Published 2024-01-01 00:00:00",
      "LastStatus 2024-01-01 01:00:00",
      "ExitAddress 162.247.74.201 2024-01-01 01:04:38",
      "ExitNode 0111BA9B604669E636FFD5B503F382A4B7AD6E80",
      "Published 2024-01-01 02:00:00",
      "LastStatus 2024-01-01 03:00:00",
      "ExitAddress 2001:db8::7 2024-01-01 03:10:00",
      "ExitAddress 185.220.101.999 2024-01-01 03:10:00",
      "ExitAddress",
      "ExitRelay 1.2.3.4 2024-01-01 03:10:00",
    ].join("\n");
    expect(parseBlocklist(text)).toEqual({ ranges: ranges("162.247.74.201", "2001:db8::7"), skipped: 3 });
  });

  it("reads Tor's bulk exit list, one address per line", () => {
    expect(parseBlocklist("171.25.193.25\n185.220.101.1\n")).toEqual({
      ranges: ranges("171.25.193.25", "185.220.101.1"),
      skipped: 0,
    });
  });

  it("skips and counts malformed lines, keeping the rest", () => {
    const text = [
      "1.2.3.4",
      "1.2.3.400",
      "1.2.3.0/33",
      "example.com",
      "1.2.3.4 - 1.2.3.9",
      '{"cidr":',
      '{"sblid":"SBL1"}',
      "5.6.7.0/24",
    ].join("\n");
    expect(parseBlocklist(text)).toEqual({ ranges: ranges("1.2.3.4", "5.6.7.0/24"), skipped: 6 });
  });

  it("finds nothing in an empty file", () => {
    expect(parseBlocklist("")).toEqual({ ranges: [], skipped: 0 });
  });
});
