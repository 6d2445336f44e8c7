import { describe, expect, it } from "vitest";
import { ipValue, parseIpRange } from "./ip-range.js";

describe("ipValue", () => {
  it("reads IPv4 as a number and IPv6 as a bigint", () => {
    expect(ipValue("0.0.0.0")).toEqual({ family: 4, value: 0 });
    expect(ipValue("1.2.3.4")).toEqual({ family: 4, value: 0x01020304 });
    expect(ipValue("255.255.255.255")).toEqual({ family: 4, value: 2 ** 32 - 1 });
    expect(ipValue("::1")).toEqual({ family: 6, value: 1n });
    expect(ipValue("2001:db8::")).toEqual({ family: 6, value: 0x20010db8n << 96n });
    expect(ipValue("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).toEqual({
      family: 6,
      value: (1n << 128n) - 1n,
    });
  });

  it("reads an IPv4-mapped IPv6 address as its IPv4 address", () => {
    expect(ipValue("::ffff:1.2.3.4")).toEqual({ family: 4, value: 0x01020304 });
  });

  it("refuses loose forms", () => {
    expect(ipValue("01.2.3.4")).toBeUndefined();
    expect(ipValue("1.2.3")).toBeUndefined();
    expect(ipValue("fe80::1%eth0")).toBeUndefined();
  });
});

describe("parseIpRange", () => {
  it.each([
    ["1.2.3.4", { family: 4, first: 0x01020304, last: 0x01020304 }],
    ["1.2.3.4/32", { family: 4, first: 0x01020304, last: 0x01020304 }],
    ["1.2.3.0/24", { family: 4, first: 0x01020300, last: 0x010203ff }],
    ["1.2.3.77/24", { family: 4, first: 0x01020300, last: 0x010203ff }],
    ["0.0.0.0/0", { family: 4, first: 0, last: 2 ** 32 - 1 }],
    ["128.0.0.0/1", { family: 4, first: 2 ** 31, last: 2 ** 32 - 1 }],
    ["::ffff:1.2.3.0/120", { family: 4, first: 0x01020300, last: 0x010203ff }],
    ["::1/128", { family: 6, first: 1n, last: 1n }],
    ["2001:db8::/32", { family: 6, first: 0x20010db8n << 96n, last: ((0x20010db8n + 1n) << 96n) - 1n }],
    ["::/0", { family: 6, first: 0n, last: (1n << 128n) - 1n }],
  ])("reads %s", (text, expected) => {
    expect(parseIpRange(text)).toEqual(expected);
  });

  it.each([
    "1.2.3.0/33",
    "::/129",
    "1.2.3.0/",
    "1.2.3.0/-1",
    "1.2.3.0/8/8",
    "::ffff:1.2.3.0/95",
    "1.2.3.0/a",
    "x/24",
  ])("rejects %s", (text) => {
    expect(parseIpRange(text)).toBeUndefined();
  });
});
