import {
  type StubDnsServer,
  startStubDnsServer,
} from "@gatehouse/enrich-email-domain/testing/stub-dns-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDnsblLookup, createDnsResolveA, dnsblQueryName, type ResolveA } from "./dnsbl.js";
import { DnsblError } from "./errors/dnsbl-error.js";
import { ipValue } from "./ip-range.js";

const value = (ip: string) => {
  const parsed = ipValue(ip);
  if (parsed === undefined) throw new Error(`bad test address ${ip}`);
  return parsed;
};
const signal = new AbortController().signal;
const ZONES = [
  { name: "zen", zone: "zen.example" },
  { name: "other", zone: "other.example" },
];
const dnsError = (code: string) => Object.assign(new Error(`query failed: ${code}`), { code });

describe("dnsblQueryName", () => {
  it("reverses IPv4 octets", () => {
    expect(dnsblQueryName(value("192.0.2.99"), "zen.spamhaus.org")).toBe("99.2.0.192.zen.spamhaus.org");
    expect(dnsblQueryName(value("255.0.0.1"), "z.example")).toBe("1.0.0.255.z.example");
  });

  it("reverses the 32 nibbles of an IPv6 address", () => {
    expect(dnsblQueryName(value("2001:db8:1:2::ab"), "zen.spamhaus.org")).toBe(
      "b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org",
    );
  });
});

describe("createDnsblLookup", () => {
  const answering =
    (answers: Record<string, string[] | Error>): ResolveA =>
    async (name) => {
      const answer = answers[name] ?? dnsError("ENOTFOUND");
      if (answer instanceof Error) throw answer;
      return answer;
    };

  it("reports the zones that answer 127.0.0.x, in configuration order; NXDOMAIN and NODATA are not listed", async () => {
    const lookup = createDnsblLookup(
      [...ZONES, { name: "third", zone: "third.example" }],
      answering({
        "2.0.0.127.other.example": ["127.0.0.2"],
        "2.0.0.127.third.example": ["127.0.0.10", "127.0.0.4"],
        "2.0.0.127.zen.example": dnsError("ENODATA"),
      }),
    );
    expect(await lookup(value("127.0.0.2"), signal)).toEqual(["other", "third"]);
    expect(await lookup(value("192.0.2.1"), signal)).toEqual([]);
  });

  it.each([
    ["a timeout", dnsError("ETIMEOUT")],
    ["SERVFAIL", dnsError("ESERVFAIL")],
    ["a refused connection", dnsError("ECONNREFUSED")],
  ])("fails retryably on %s, naming the zone", async (_label, error) => {
    const lookup = createDnsblLookup(ZONES, answering({ "1.2.0.192.other.example": error }));
    const caught = await lookup(value("192.0.2.1"), signal).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(DnsblError);
    expect(caught).toMatchObject({
      code: "ip_reputation.dnsbl_unavailable",
      retryable: true,
      zone: "other.example",
    });
    expect((caught as Error).message).toContain(
      `DNSBL other.example: no answer (query failed: ${(error as { code: string }).code})`,
    );
  });

  it.each([
    ["an error code (a public resolver refused)", "127.255.255.254"],
    ["an address outside 127.0.0.0/8 (a resolver that rewrites NXDOMAIN)", "198.51.100.1"],
  ])("fails without retrying on %s", async (_label, answer) => {
    const lookup = createDnsblLookup(ZONES, answering({ "1.2.0.192.zen.example": [answer] }));
    await expect(lookup(value("192.0.2.1"), signal)).rejects.toMatchObject({
      code: "ip_reputation.dnsbl_refused",
      retryable: false,
      message: expect.stringContaining(`DNSBL zen.example: answered ${answer}`),
    });
  });
});

describe("createDnsResolveA against a DNS server", () => {
  let dns: StubDnsServer;
  beforeAll(async () => {
    dns = await startStubDnsServer((name) => {
      // 192.0.2.66 is listed on zen (an ordinary listing) and 192.0.2.77 gets a refusal code.
      if (name === "66.2.0.192.zen.example") return { a: ["127.0.0.2", "127.0.0.4"] };
      if (name === "77.2.0.192.zen.example") return { a: ["127.255.255.254"] };
      if (name.includes("servfail")) return { rcode: 2 };
      if (name.includes("silent")) return "silent";
      return undefined; // NXDOMAIN
    });
  });
  afterAll(() => dns.close());

  it("rejects NXDOMAIN as ENOTFOUND and SERVFAIL as ESERVFAIL, asking the configured server", async () => {
    const resolve = createDnsResolveA({ servers: [dns.address], timeoutMs: 1_000 });
    const before = dns.queryCount();
    await expect(resolve("1.2.0.192.zen.example", signal)).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(resolve("servfail.zen.example", signal)).rejects.toMatchObject({ code: "ESERVFAIL" });
    expect(dns.queries.slice(-2)).toEqual(["1.2.0.192.zen.example", "servfail.zen.example"]);
    expect(dns.queryCount()).toBe(before + 2);
  });

  it("gives up at its deadline with ETIMEOUT when the server does not answer", async () => {
    const resolve = createDnsResolveA({ servers: [dns.address, dns.address], timeoutMs: 150 });
    const started = performance.now();
    await expect(resolve("silent.zen.example", signal)).rejects.toMatchObject({
      code: "ETIMEOUT",
      message: "lookup of silent.zen.example timed out after 150 ms",
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("stops at once, with the signal's reason, when aborted", async () => {
    const resolve = createDnsResolveA({ servers: [dns.address], timeoutMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("job timed out")), 50);
    const started = performance.now();
    await expect(resolve("silent.zen.example", controller.signal)).rejects.toThrow("job timed out");
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("reports a listing answered over DNS (127.0.0.x A records), and refuses a refusal code", async () => {
    const resolve = createDnsResolveA({ servers: [dns.address], timeoutMs: 1_000 });
    const lookup = createDnsblLookup(ZONES, resolve);
    expect(await lookup(value("192.0.2.66"), signal)).toEqual(["zen"]);
    expect(await lookup(value("192.0.2.65"), signal)).toEqual([]);
    await expect(lookup(value("192.0.2.77"), signal)).rejects.toMatchObject({ retryable: false });
  });

  it("makes a zone that does not answer a retryable failure of the whole lookup", async () => {
    const resolve = createDnsResolveA({ servers: [dns.address], timeoutMs: 100 });
    expect(await createDnsblLookup(ZONES, resolve)(value("192.0.2.1"), signal)).toEqual([]);
    const lookup = createDnsblLookup([...ZONES, { name: "silent", zone: "silent.example" }], resolve);
    await expect(lookup(value("192.0.2.1"), signal)).rejects.toMatchObject({
      code: "ip_reputation.dnsbl_unavailable",
      retryable: true,
      zone: "silent.example",
    });
  });
});
