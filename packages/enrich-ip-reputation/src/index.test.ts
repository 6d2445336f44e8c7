import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseInterceptorRequest, requestFixture } from "@gatehouse/contracts";
import {
  type StubDnsServer,
  startStubDnsServer,
} from "@gatehouse/enrich-email-domain/testing/stub-dns-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IpReputationHandler, ipReputation, ipReputationFactSchema } from "./index.js";

function request(name: Parameters<typeof requestFixture>[0], context: Record<string, unknown> = {}) {
  const body = requestFixture(name);
  body.interceptor_context = { ...(body.interceptor_context as Record<string, unknown>), ...context };
  const parsed = parseInterceptorRequest(body);
  if (!parsed.ok) throw new Error(`fixture ${name} does not parse: ${parsed.reason}`);
  return parsed.request;
}

// No MaxMind database is configured in these tests.
const UNKNOWN = { asn: null, asOrganization: null, country: null, anonymous: null, hosting: null };

describe("ipReputation: the part the ingress uses", () => {
  it("is ip-reputation v2 (v1 facts had no ASN, country or anonymity fields)", () => {
    expect(ipReputation.name).toBe("ip-reputation");
    expect(ipReputation.version).toBe(2);
  });

  it("takes the request's IP address, canonical", () => {
    expect(ipReputation.fromRequest(request("PRE_SIGNUP", { ip_address: "203.0.113.7" }))).toEqual({
      ip: "203.0.113.7",
    });
    expect(
      ipReputation.fromRequest(request("PRE_SESSION_CREATION", { ip_address: "::ffff:203.0.113.7" })),
    ).toEqual({
      ip: "203.0.113.7",
    });
    expect(ipReputation.fromRequest(request("PRE_SIGNUP", { ip_address: "2001:DB8::0:1" }))).toEqual({
      ip: "2001:db8::1",
    });
  });

  it("does not apply without an address", () => {
    expect(ipReputation.fromRequest(request("PRE_SIGNUP", { ip_address: null }))).toBeUndefined();
  });

  it("uses the address as the subject, and accepts only canonical addresses as input", () => {
    expect(ipReputation.subject({ ip: "203.0.113.7" })).toBe("203.0.113.7");
    expect(ipReputation.input.safeParse({ ip: "2001:db8::1" }).success).toBe(true);
    expect(ipReputation.input.safeParse({ ip: "2001:DB8::1" }).success).toBe(false);
    expect(ipReputation.input.safeParse({ ip: "::ffff:1.2.3.4" }).success).toBe(false);
    expect(ipReputation.input.safeParse({ ip: "example.com" }).success).toBe(false);
  });
});

describe("ipReputation: setup with blocklist files", () => {
  let dir: string;
  let handler: IpReputationHandler;
  const signal = new AbortController().signal;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-ip-reputation-"));
    await writeFile(join(dir, "firehol_level1.netset"), "# FireHOL\n45.155.205.0/24\n198.51.100.0/24\n");
    await writeFile(
      join(dir, "drop.txt"),
      "; DROP\n45.155.205.0/25 ; SBL1\n2001:db8:bad::/48 ; SBL2\nbroken\n",
    );
    const settings = ipReputation.settings.parse({
      GATEHOUSE_IP_BLOCKLISTS: `${join(dir, "firehol_level1.netset")},spamhaus=${join(dir, "drop.txt")}`,
    });
    handler = (await ipReputation.setup(settings)) as IpReputationHandler;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reports what it loaded, malformed lines counted", () => {
    expect(handler.blocklists.map(({ name, entries, skipped }) => ({ name, entries, skipped }))).toEqual([
      { name: "firehol_level1", entries: 2, skipped: 0 },
      { name: "spamhaus", entries: 2, skipped: 1 },
    ]);
  });

  it.each([
    [
      "45.155.205.7",
      {
        ip: "45.155.205.7",
        lists: ["firehol_level1", "spamhaus"],
        listed: true,
        range: "unicast",
        ...UNKNOWN,
      },
    ],
    [
      "45.155.205.200",
      { ip: "45.155.205.200", lists: ["firehol_level1"], listed: true, range: "unicast", ...UNKNOWN },
    ],
    [
      "2001:db8:bad::1",
      { ip: "2001:db8:bad::1", lists: ["spamhaus"], listed: true, range: "reserved", ...UNKNOWN },
    ],
    ["8.8.8.8", { ip: "8.8.8.8", lists: [], listed: false, range: "unicast", ...UNKNOWN }],
    ["10.1.2.3", { ip: "10.1.2.3", lists: [], listed: false, range: "private", ...UNKNOWN }],
    ["127.0.0.1", { ip: "127.0.0.1", lists: [], listed: false, range: "loopback", ...UNKNOWN }],
    ["::1", { ip: "::1", lists: [], listed: false, range: "loopback", ...UNKNOWN }],
    ["fd00::1", { ip: "fd00::1", lists: [], listed: false, range: "uniqueLocal", ...UNKNOWN }],
  ])("answers for %s", async (ip, expected) => {
    const fact = await handler.run({ ip }, { signal });
    expect(fact).toEqual(expected);
    expect(ipReputationFactSchema.parse(fact)).toEqual(expected);
  });

  it("has nothing to warm", () => {
    expect(handler.warm).toBeUndefined();
  });

  it("refuses to start when a configured file is missing, naming it", async () => {
    const missing = join(dir, "missing.netset");
    const settings = ipReputation.settings.parse({ GATEHOUSE_IP_BLOCKLISTS: missing });
    await expect(ipReputation.setup(settings)).rejects.toThrow(
      `IP blocklist "missing" (${missing}) cannot be used`,
    );
  });
});

describe("ipReputation: setup with MaxMind databases and a DNSBL", () => {
  const testData = (file: string) => fileURLToPath(new URL(`../test-data/${file}`, import.meta.url));
  const signal = new AbortController().signal;
  let dns: StubDnsServer;
  let handler: IpReputationHandler;

  beforeAll(async () => {
    dns = await startStubDnsServer({}); // NXDOMAIN for every name: listed nowhere
    const settings = ipReputation.settings.parse({
      GATEHOUSE_MAXMIND_ASN_DB: testData("GeoLite2-ASN-Test.mmdb"),
      GATEHOUSE_MAXMIND_COUNTRY_DB: testData("GeoIP2-Country-Test.mmdb"),
      GATEHOUSE_MAXMIND_ANONYMOUS_DB: testData("GeoIP2-Anonymous-IP-Test.mmdb"),
      GATEHOUSE_DNSBL_ZONES: "zen=zen.example",
      GATEHOUSE_DNS_SERVERS: dns.address,
      GATEHOUSE_DNSBL_TIMEOUT_MS: "500",
    });
    handler = (await ipReputation.setup(settings)) as IpReputationHandler;
  });
  afterAll(() => dns.close());

  it("fills the network, country and anonymity of an ordinary address, and asks the DNSBL", async () => {
    const before = dns.queries.length;
    expect(await handler.run({ ip: "81.2.69.160" }, { signal })).toEqual({
      ip: "81.2.69.160",
      lists: [],
      listed: false,
      range: "unicast",
      asn: null,
      asOrganization: null,
      country: "GB",
      anonymous: true,
      hosting: true,
    });
    expect(await handler.run({ ip: "1.128.0.1" }, { signal })).toMatchObject({
      asn: 1221,
      asOrganization: "Telstra Pty Ltd",
      anonymous: false,
      hosting: false,
    });
    expect(dns.queries.slice(before)).toEqual(["160.69.2.81.zen.example", "1.0.128.1.zen.example"]);
  });

  it.each([
    ["10.1.2.3", "private"],
    ["127.0.0.1", "loopback"],
    ["::1", "loopback"],
    ["fd00::1", "uniqueLocal"],
    ["100.64.0.1", "carrierGradeNat"],
    ["2001:db8::1", "reserved"],
  ])(
    "asks neither MaxMind nor the DNSBL about %s (%s), and still answers a complete fact",
    async (ip, range) => {
      const before = dns.queryCount();
      const fact = await handler.run({ ip }, { signal });
      expect(fact).toEqual({ ip, lists: [], listed: false, range, ...UNKNOWN });
      expect(ipReputationFactSchema.parse(fact)).toEqual(fact);
      expect(dns.queryCount()).toBe(before);
    },
  );

  it("refuses to start when a database is missing, naming the setting", async () => {
    const settings = ipReputation.settings.parse({ GATEHOUSE_MAXMIND_ANONYMOUS_DB: "/nowhere/anon.mmdb" });
    await expect(ipReputation.setup(settings)).rejects.toThrow(
      "GATEHOUSE_MAXMIND_ANONYMOUS_DB (/nowhere/anon.mmdb) cannot be used",
    );
  });

  it("fails the run, retryably, when the DNSBL does not answer: no incomplete fact", async () => {
    dns.delayMs = 2_000;
    try {
      await expect(handler.run({ ip: "8.8.8.8" }, { signal })).rejects.toMatchObject({
        code: "ip_reputation.dnsbl_unavailable",
        retryable: true,
      });
    } finally {
      dns.delayMs = 0;
    }
  });
});
