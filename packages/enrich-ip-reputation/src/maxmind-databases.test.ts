import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MaxmindDatabaseError } from "./errors/maxmind-database-error.js";
import { openMaxmindDatabases } from "./maxmind-databases.js";

// MaxMind's own test databases (github.com/maxmind/MaxMind-DB, test-data/; see test-data/README.md).
const testData = (file: string) => fileURLToPath(new URL(`../test-data/${file}`, import.meta.url));
const ASN = testData("GeoLite2-ASN-Test.mmdb");
const COUNTRY = testData("GeoIP2-Country-Test.mmdb");
const ANONYMOUS = testData("GeoIP2-Anonymous-IP-Test.mmdb");

describe("openMaxmindDatabases", () => {
  it("is undefined without a database", async () => {
    expect(await openMaxmindDatabases({})).toBeUndefined();
  });

  it.each([
    [
      "an address in all three databases",
      "81.2.69.160",
      { asn: null, asOrganization: null, country: "GB", anonymous: true, hosting: true },
    ],
    [
      "an ASN with its organization",
      "1.128.0.1",
      { asn: 1221, asOrganization: "Telstra Pty Ltd", country: null, anonymous: false, hosting: false },
    ],
    [
      "an ASN without an organization",
      "12.81.96.1",
      { asn: 7018, asOrganization: null, country: null, anonymous: false, hosting: false },
    ],
    [
      "an anonymous address that is not hosting",
      "1.2.0.1",
      { asn: null, asOrganization: null, country: null, anonymous: true, hosting: false },
    ],
    [
      "an IPv6 address",
      "2001:218::1",
      { asn: null, asOrganization: null, country: "JP", anonymous: false, hosting: false },
    ],
    [
      "an address in none (known not anonymous, the rest unknown)",
      "8.8.8.8",
      { asn: null, asOrganization: null, country: null, anonymous: false, hosting: false },
    ],
  ])("answers for %s (%s)", async (_label, ip, expected) => {
    const lookup = await openMaxmindDatabases({ asn: ASN, country: COUNTRY, anonymous: ANONYMOUS });
    expect(lookup?.(ip)).toEqual(expected);
  });

  it("leaves what no configured database answers null", async () => {
    const lookup = await openMaxmindDatabases({ asn: ASN });
    expect(lookup?.("81.2.69.160")).toEqual({
      asn: null,
      asOrganization: null,
      country: null,
      anonymous: null,
      hosting: null,
    });
    expect(lookup?.("1.128.0.1")).toMatchObject({ asn: 1221, country: null, anonymous: null });
  });

  it("refuses a missing file, naming the setting", async () => {
    const error = await openMaxmindDatabases({ country: "/nonexistent/GeoLite2-Country.mmdb" }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MaxmindDatabaseError);
    expect(error).toMatchObject({
      code: "ip_reputation.maxmind_unusable",
      retryable: false,
      setting: "GATEHOUSE_MAXMIND_COUNTRY_DB",
    });
    expect((error as Error).message).toMatch(
      /^GATEHOUSE_MAXMIND_COUNTRY_DB \(\/nonexistent\/GeoLite2-Country\.mmdb\) cannot be used: not a readable MaxMind database \(ENOENT/,
    );
  });

  it("refuses a file that is not a MaxMind database", async () => {
    const notADatabase = fileURLToPath(new URL("../package.json", import.meta.url));
    await expect(openMaxmindDatabases({ asn: notADatabase })).rejects.toThrow(
      `GATEHOUSE_MAXMIND_ASN_DB (${notADatabase}) cannot be used: not a readable MaxMind database`,
    );
  });

  it("refuses a database of the wrong kind", async () => {
    await expect(openMaxmindDatabases({ asn: COUNTRY })).rejects.toThrow(
      `GATEHOUSE_MAXMIND_ASN_DB (${COUNTRY}) cannot be used: it is a GeoIP2-Country database; expected GeoLite2-ASN or GeoIP2-ISP`,
    );
    await expect(openMaxmindDatabases({ anonymous: ASN })).rejects.toThrow(
      "it is a GeoLite2-ASN database; expected GeoIP2-Anonymous-IP",
    );
  });
});
