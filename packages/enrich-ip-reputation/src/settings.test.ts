import { describe, expect, it } from "vitest";
import { ipReputationSettingsSchema } from "./settings.js";

const issues = (env: Record<string, string>) => {
  const result = ipReputationSettingsSchema.safeParse(env);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("ipReputationSettingsSchema", () => {
  it("needs nothing set, and ignores unrelated variables", () => {
    expect(ipReputationSettingsSchema.parse({ HOME: "/root" })).toEqual({ blocklists: [] });
    expect(ipReputationSettingsSchema.parse({ GATEHOUSE_IP_BLOCKLISTS: "" })).toEqual({ blocklists: [] });
  });

  it("reads name=path entries and names bare paths after the file", () => {
    const settings = ipReputationSettingsSchema.parse({
      GATEHOUSE_IP_BLOCKLISTS:
        " /data/firehol_level1.netset , spamhaus=/data/drop_v4.json,,./lists/tor-exits ",
    });
    expect(settings.blocklists).toEqual([
      { name: "firehol_level1", path: "/data/firehol_level1.netset" },
      { name: "spamhaus", path: "/data/drop_v4.json" },
      { name: "tor-exits", path: "./lists/tor-exits" },
    ]);
  });

  it("names the setting and the entry it cannot use", () => {
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "a=/x.netset,a=/y.netset" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: the list name "a" is used twice',
    ]);
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "/data/.hidden" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: ".hidden" is not a usable list name (in "/data/.hidden"); write name=path',
    ]);
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "drop=" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: "drop=" names no file',
    ]);
  });

  it("reads URL feeds, named or named after the URL's file, and only then has feed settings", () => {
    const settings = ipReputationSettingsSchema.parse({
      GATEHOUSE_IP_BLOCKLISTS:
        "drop=https://www.spamhaus.org/drop/drop_v4.json,https://iplists.firehol.org/files/firehol_level1.netset?x=1,/data/tor.txt",
      GATEHOUSE_IP_FEED_REFRESH_MINUTES: "15",
    });
    expect(settings).toEqual({
      blocklists: [
        { name: "drop", url: "https://www.spamhaus.org/drop/drop_v4.json" },
        { name: "firehol_level1", url: "https://iplists.firehol.org/files/firehol_level1.netset?x=1" },
        { name: "tor", path: "/data/tor.txt" },
      ],
      feeds: { refreshMinutes: 15, timeoutMs: 30_000 },
    });
    expect(
      ipReputationSettingsSchema.parse({ GATEHOUSE_IP_BLOCKLISTS: "tor=http://127.0.0.1:8080/exits" }).feeds,
    ).toEqual({ refreshMinutes: 60, timeoutMs: 30_000 });
    expect(
      ipReputationSettingsSchema.parse({ GATEHOUSE_IP_BLOCKLISTS: "/data/tor.txt" }).feeds,
    ).toBeUndefined();
  });

  it("reads the MaxMind database paths, each optional", () => {
    expect(
      ipReputationSettingsSchema.parse({
        GATEHOUSE_MAXMIND_ASN_DB: "/db/GeoLite2-ASN.mmdb",
        GATEHOUSE_MAXMIND_COUNTRY_DB: "",
      }),
    ).toEqual({ blocklists: [], maxmind: { asn: "/db/GeoLite2-ASN.mmdb" } });
    expect(
      ipReputationSettingsSchema.parse({
        GATEHOUSE_MAXMIND_COUNTRY_DB: "/db/GeoLite2-City.mmdb",
        GATEHOUSE_MAXMIND_ANONYMOUS_DB: "/db/GeoIP2-Anonymous-IP.mmdb",
      }).maxmind,
    ).toEqual({ country: "/db/GeoLite2-City.mmdb", anonymous: "/db/GeoIP2-Anonymous-IP.mmdb" });
  });

  it("reads DNSBL zones, named after the zone unless named, with the shared DNS servers", () => {
    expect(
      ipReputationSettingsSchema.parse({
        GATEHOUSE_DNSBL_ZONES: "zen.spamhaus.org, barracuda=b.barracudacentral.org.",
        GATEHOUSE_DNSBL_TIMEOUT_MS: "300",
        GATEHOUSE_DNS_SERVERS: "127.0.0.1:5353,[::1]:53",
      }).dnsbl,
    ).toEqual({
      zones: [
        { name: "zen.spamhaus.org", zone: "zen.spamhaus.org" },
        { name: "barracuda", zone: "b.barracudacentral.org" },
      ],
      timeoutMs: 300,
      servers: ["127.0.0.1:5353", "[::1]:53"],
    });
    expect(ipReputationSettingsSchema.parse({ GATEHOUSE_DNSBL_ZONES: "zen.spamhaus.org" }).dnsbl).toEqual({
      zones: [{ name: "zen.spamhaus.org", zone: "zen.spamhaus.org" }],
      timeoutMs: 1_000,
      servers: undefined,
    });
    expect(ipReputationSettingsSchema.parse({ GATEHOUSE_DNS_SERVERS: "1.1.1.1" })).toEqual({
      blocklists: [],
    });
  });

  it("names each bad setting", () => {
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "feed=https://exa mple.com/list" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: "https://exa mple.com/list" is not a URL',
    ]);
    expect(issues({ GATEHOUSE_IP_BLOCKLISTS: "https://example.com/" })).toEqual([
      'GATEHOUSE_IP_BLOCKLISTS: "" is not a usable list name (in "https://example.com/"); write name=path',
    ]);
    expect(issues({ GATEHOUSE_DNSBL_ZONES: "zen.spamhaus.org,not a zone,bad=x" })).toEqual([
      'GATEHOUSE_DNSBL_ZONES: "not a zone" is not a DNS zone',
      'GATEHOUSE_DNSBL_ZONES: "x" is not a DNS zone',
    ]);
    expect(
      issues({
        GATEHOUSE_IP_BLOCKLISTS: "spamhaus=/d/drop.txt",
        GATEHOUSE_DNSBL_ZONES: "spamhaus=zen.spamhaus.org",
      }),
    ).toEqual(['GATEHOUSE_DNSBL_ZONES: the list name "spamhaus" is also a GATEHOUSE_IP_BLOCKLISTS name']);
    expect(issues({ GATEHOUSE_DNS_SERVERS: "1.1.1.1,dns.google" })).toEqual([
      'GATEHOUSE_DNS_SERVERS: "dns.google" is not a DNS server address',
    ]);
    for (const [name, value] of [
      ["GATEHOUSE_DNSBL_TIMEOUT_MS", "5000"],
      ["GATEHOUSE_DNSBL_TIMEOUT_MS", "soon"],
      ["GATEHOUSE_IP_FEED_REFRESH_MINUTES", "0"],
      ["GATEHOUSE_IP_FEED_TIMEOUT_MS", "1.5"],
    ] as const) {
      expect(issues({ [name]: value })).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    }
  });
});
