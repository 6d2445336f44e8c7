import { describe, expect, it } from "vitest";
import { domainOfEmail, normalizeDomain } from "./normalize-domain.js";

describe("normalizeDomain", () => {
  it.each([
    ["example.com", "example.com"],
    ["  Example.COM  ", "example.com"],
    ["X.Mailinator.COM.", "x.mailinator.com"],
    ["bücher.de", "xn--bcher-kva.de"],
    ["BÜCHER.DE", "xn--bcher-kva.de"],
    ["xn--bcher-kva.de", "xn--bcher-kva.de"],
    ["münchen.рф", "xn--mnchen-3ya.xn--p1ai"],
    ["ｅｘａｍｐｌｅ.com", "example.com"],
    ["a-b.co.uk", "a-b.co.uk"],
    ["1password.com", "1password.com"],
    [`${"a".repeat(63)}.com`, `${"a".repeat(63)}.com`],
    [`${"abcdefghi.".repeat(25)}com`, `${"abcdefghi.".repeat(25)}com`], // 253 characters
    ["a.b", "a.b"],
    ["0.com", "0.com"],
    ["a--b.example", "a--b.example"],
    ["mail.123abc", "mail.123abc"],
    [`${"a".repeat(63)}.${"b".repeat(63)}`, `${"a".repeat(63)}.${"b".repeat(63)}`],
  ])("normalizes %j to %j", (raw, expected) => {
    expect(normalizeDomain(raw)).toBe(expected);
  });

  it.each([
    ["an empty string", ""],
    ["a lone dot", "."],
    ["one label", "localhost"],
    ["two trailing dots", "example.com.."],
    ["an empty label", "a..com"],
    ["a leading hyphen", "-a.com"],
    ["a trailing hyphen", "a-.com"],
    ["an underscore", "a_b.com"],
    ["a space inside", "exa mple.com"],
    ["a path, which a URL parser would cut off", "evil.com/x.example"],
    ["a port", "example.com:25"],
    ["an @", "user@example.com"],
    ["a percent escape", "b%C3%BCcher.de"],
    ["an IPv4 address", "192.168.1.1"],
    ["an IPv6 literal", "[::1]"],
    ["invalid punycode", "xn--zz.com"],
    ["a label of 64 characters", `${"a".repeat(64)}.com`],
    ["254 characters", `${"abcdefghi.".repeat(25)}comm`],
    ["a numeric top-level label", "example.123"],
    ["a numeric top-level label after a trailing dot", "mail.example.42."],
    ["a hyphen before a dot", "mail-.example.com"],
    ["a hyphen after a dot", "mail.-example.com"],
    ["a last label of 64 characters", `example.${"a".repeat(64)}`],
  ])("rejects %s", (_label, raw) => {
    expect(normalizeDomain(raw)).toBeUndefined();
  });
});

describe("domainOfEmail", () => {
  it("takes the normalized part after the last @", () => {
    expect(domainOfEmail("John.Doe@Bücher.DE")).toBe("xn--bcher-kva.de");
    expect(domainOfEmail('"a@b"@example.com')).toBe("example.com");
  });

  it("is undefined without a local part or a valid domain", () => {
    expect(domainOfEmail("@example.com")).toBeUndefined();
    expect(domainOfEmail("example.com")).toBeUndefined();
    expect(domainOfEmail("user@localhost")).toBeUndefined();
  });
});
