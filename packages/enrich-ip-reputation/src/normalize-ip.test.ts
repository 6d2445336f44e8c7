import { describe, expect, it } from "vitest";
import { normalizeIp } from "./normalize-ip.js";

describe("normalizeIp", () => {
  it.each([
    ["203.0.113.7", "203.0.113.7"],
    [" 203.0.113.7 ", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::FFFF:cb00:7107", "203.0.113.7"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"],
    ["::1", "::1"],
    ["::", "::"],
    ["0.0.0.0", "0.0.0.0"],
  ])("normalizes %j to %j", (raw, expected) => {
    expect(normalizeIp(raw)).toBe(expected);
  });

  it.each([
    ["an empty string", ""],
    ["a hostname", "example.com"],
    ["a leading zero (octal to some parsers)", "010.1.1.1"],
    ["a hexadecimal part", "0x7f.0.0.1"],
    ["a short IPv4 form", "127.1"],
    ["an octet above 255", "256.1.1.1"],
    ["a CIDR block", "10.0.0.0/8"],
    ["a zone", "fe80::1%eth0"],
    ["brackets", "[::1]"],
  ])("rejects %s", (_label, raw) => {
    expect(normalizeIp(raw)).toBeUndefined();
  });
});
