import {
  type AnonymousIPResponse,
  type AsnResponse,
  type CountryResponse,
  open,
  type Reader,
  type Response,
} from "maxmind";
import { MaxmindDatabaseError } from "./errors/maxmind-database-error.js";

/** The MaxMind database files configured, each optional. */
export interface MaxmindPaths {
  /** `GATEHOUSE_MAXMIND_ASN_DB`: GeoLite2-ASN (or GeoIP2-ISP, which has the same fields). */
  readonly asn?: string | undefined;
  /** `GATEHOUSE_MAXMIND_COUNTRY_DB`: GeoLite2/GeoIP2 Country or City. */
  readonly country?: string | undefined;
  /** `GATEHOUSE_MAXMIND_ANONYMOUS_DB`: GeoIP2-Anonymous-IP. */
  readonly anonymous?: string | undefined;
}

/** What the databases say about one address; null where no database is configured or it has no answer. */
export interface MaxmindDetails {
  readonly asn: number | null;
  readonly asOrganization: string | null;
  readonly country: string | null;
  readonly anonymous: boolean | null;
  readonly hosting: boolean | null;
}

export const NO_MAXMIND_DETAILS: MaxmindDetails = {
  asn: null,
  asOrganization: null,
  country: null,
  anonymous: null,
  hosting: null,
};

export type MaxmindLookup = (ip: string) => MaxmindDetails;

// Each setting, and the database types (metadata.databaseType) it accepts: a Country file given as the ASN
// database is refused at start rather than answering every lookup with nothing.
const DATABASES = {
  asn: { setting: "GATEHOUSE_MAXMIND_ASN_DB", accepts: /ASN|ISP/, expected: "GeoLite2-ASN or GeoIP2-ISP" },
  country: {
    setting: "GATEHOUSE_MAXMIND_COUNTRY_DB",
    accepts: /Country|City|Enterprise/,
    expected: "a GeoLite2/GeoIP2 Country or City database",
  },
  anonymous: {
    setting: "GATEHOUSE_MAXMIND_ANONYMOUS_DB",
    accepts: /Anonymous-IP/,
    expected: "GeoIP2-Anonymous-IP",
  },
} as const;

async function openDatabase<T extends Response>(
  kind: keyof typeof DATABASES,
  path: string | undefined,
): Promise<Reader<T> | undefined> {
  if (path === undefined) return undefined;
  const { setting, accepts, expected } = DATABASES[kind];
  let reader: Reader<T>;
  try {
    // No file watching: a new database is read when the worker restarts.
    reader = await open<T>(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new MaxmindDatabaseError(setting, path, `not a readable MaxMind database (${reason})`, error);
  }
  const type = reader.metadata.databaseType;
  if (!accepts.test(type))
    throw new MaxmindDatabaseError(setting, path, `it is a ${type} database; expected ${expected}`);
  return reader;
}

/**
 * Opens the configured databases (all in memory; GeoLite2-City is the largest at some 60 MB) and returns a
 * lookup over them. Throws a MaxmindDatabaseError naming the setting when a file is missing, is not a
 * MaxMind database, or is of the wrong kind. Undefined when none is configured.
 */
export async function openMaxmindDatabases(paths: MaxmindPaths): Promise<MaxmindLookup | undefined> {
  const [asn, country, anonymous] = await Promise.all([
    openDatabase<AsnResponse>("asn", paths.asn),
    openDatabase<CountryResponse>("country", paths.country),
    openDatabase<AnonymousIPResponse>("anonymous", paths.anonymous),
  ]);
  if (asn === undefined && country === undefined && anonymous === undefined) return undefined;
  return (ip) => {
    const network = asn?.get(ip);
    const place = country?.get(ip);
    // The anonymous-IP database holds only anonymous networks: an address it does not hold is not one.
    const anonymity = anonymous === undefined ? undefined : (anonymous.get(ip) ?? {});
    return {
      asn: network?.autonomous_system_number ?? null,
      asOrganization: network?.autonomous_system_organization ?? null,
      country: place?.country?.iso_code ?? null,
      anonymous: anonymity === undefined ? null : anonymity.is_anonymous === true,
      hosting: anonymity === undefined ? null : anonymity.is_hosting_provider === true,
    };
  };
}
