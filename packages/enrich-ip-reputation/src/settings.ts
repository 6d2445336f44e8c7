import { Resolver } from "node:dns";
import { basename, extname } from "node:path";
import { commaList, unsetIfEmpty } from "@gatehouse/enrichment-sdk";
import { z } from "zod";
import type { BlocklistSource } from "./load-blocklists.js";
import type { MaxmindPaths } from "./maxmind-databases.js";

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const URL_START = /^https?:\/\//i;
const DNS_NAME = /^(?=.{1,200}$)([A-Za-z0-9_]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/;

/** `name=path`, `name=https://…`, a bare path (named after the file) or a bare URL (named after its path). */
function blocklistSource(item: string): BlocklistSource | string {
  const equals = URL_START.test(item) ? -1 : item.indexOf("=");
  const location = (equals === -1 ? item : item.slice(equals + 1)).trim();
  if (location === "") return `"${item}" names no file`;
  const isUrl = URL_START.test(location);
  let url: URL | undefined;
  if (isUrl) {
    try {
      url = new URL(location);
    } catch {
      return `"${location}" is not a URL`;
    }
  }
  const file = url === undefined ? location : decodeURIComponent(url.pathname);
  const name = equals === -1 ? basename(file, extname(file)) : item.slice(0, equals).trim();
  if (!NAME.test(name)) return `"${name}" is not a usable list name (in "${item}"); write name=path`;
  return url === undefined ? { name, path: location } : { name, url: url.href };
}

const blocklistSources = z.string().transform((value, ctx) => {
  const sources: BlocklistSource[] = [];
  for (const item of commaList(value)) {
    const source = blocklistSource(item);
    if (typeof source === "string") ctx.addIssue({ code: "custom", message: source });
    else if (sources.some((other) => other.name === source.name)) {
      ctx.addIssue({ code: "custom", message: `the list name "${source.name}" is used twice` });
    } else sources.push(source);
  }
  return sources;
});

/** A DNSBL zone and the list name a listing is reported under. */
export interface DnsblZone {
  readonly name: string;
  readonly zone: string;
}

const dnsblZones = z.string().transform((value, ctx) => {
  const zones: DnsblZone[] = [];
  for (const item of commaList(value)) {
    const equals = item.indexOf("=");
    const zone = (equals === -1 ? item : item.slice(equals + 1)).trim().toLowerCase().replace(/\.$/, "");
    const name = equals === -1 ? zone : item.slice(0, equals).trim();
    if (!DNS_NAME.test(zone)) ctx.addIssue({ code: "custom", message: `"${zone}" is not a DNS zone` });
    else if (!NAME.test(name)) {
      ctx.addIssue({
        code: "custom",
        message: `"${name}" is not a usable list name (in "${item}"); write name=zone`,
      });
    } else if (zones.some((other) => other.name === name))
      ctx.addIssue({ code: "custom", message: `the list name "${name}" is used twice` });
    else zones.push({ name, zone });
  }
  return zones;
});

// Node's own parser decides what a DNS server address is: whatever Resolver.setServers accepts.
const dnsServers = z.string().transform((value, ctx) => {
  const servers = commaList(value);
  for (const server of servers) {
    try {
      new Resolver().setServers([server]);
    } catch {
      ctx.addIssue({ code: "custom", message: `"${server}" is not a DNS server address` });
    }
  }
  return servers.length === 0 ? undefined : servers;
});

const milliseconds = (fallback: number, min: number, max: number) =>
  z.preprocess(unsetIfEmpty, z.coerce.number().int().min(min).max(max).default(fallback));
const optionalPath = z.preprocess(unsetIfEmpty, z.string().trim().min(1).optional());

/** The environment variables the ip-reputation enrichment reads; unknown variables are ignored. */
export const ipReputationSettingsSchema = z
  .object({
    GATEHOUSE_IP_BLOCKLISTS: z.preprocess(unsetIfEmpty, blocklistSources.optional()),
    GATEHOUSE_IP_FEED_REFRESH_MINUTES: z.preprocess(
      unsetIfEmpty,
      z.coerce.number().int().min(1).max(10_080).default(60),
    ),
    GATEHOUSE_IP_FEED_TIMEOUT_MS: milliseconds(30_000, 100, 600_000),
    GATEHOUSE_MAXMIND_ASN_DB: optionalPath,
    GATEHOUSE_MAXMIND_COUNTRY_DB: optionalPath,
    GATEHOUSE_MAXMIND_ANONYMOUS_DB: optionalPath,
    GATEHOUSE_DNSBL_ZONES: z.preprocess(unsetIfEmpty, dnsblZones.optional()),
    // The job times out after 5 s: a DNSBL lookup must leave it room.
    GATEHOUSE_DNSBL_TIMEOUT_MS: milliseconds(1_000, 1, 4_000),
    GATEHOUSE_DNS_SERVERS: z.preprocess(unsetIfEmpty, dnsServers.optional()),
  })
  .superRefine((env, ctx) => {
    const names = new Set((env.GATEHOUSE_IP_BLOCKLISTS ?? []).map((source) => source.name));
    for (const { name } of env.GATEHOUSE_DNSBL_ZONES ?? []) {
      if (names.has(name)) {
        ctx.addIssue({
          code: "custom",
          path: ["GATEHOUSE_DNSBL_ZONES"],
          message: `the list name "${name}" is also a GATEHOUSE_IP_BLOCKLISTS name`,
        });
      }
    }
  })
  .transform((env): IpReputationSettings => {
    const blocklists = env.GATEHOUSE_IP_BLOCKLISTS ?? [];
    const maxmind: MaxmindPaths = {
      asn: env.GATEHOUSE_MAXMIND_ASN_DB,
      country: env.GATEHOUSE_MAXMIND_COUNTRY_DB,
      anonymous: env.GATEHOUSE_MAXMIND_ANONYMOUS_DB,
    };
    // Groups appear only when their feature is configured, so a worker without them sees `{ blocklists }`.
    return {
      blocklists,
      ...(blocklists.some((source) => "url" in source) && {
        feeds: {
          refreshMinutes: env.GATEHOUSE_IP_FEED_REFRESH_MINUTES,
          timeoutMs: env.GATEHOUSE_IP_FEED_TIMEOUT_MS,
        },
      }),
      ...(Object.values(maxmind).some((path) => path !== undefined) && { maxmind }),
      ...(env.GATEHOUSE_DNSBL_ZONES !== undefined &&
        env.GATEHOUSE_DNSBL_ZONES.length > 0 && {
          dnsbl: {
            zones: env.GATEHOUSE_DNSBL_ZONES,
            timeoutMs: env.GATEHOUSE_DNSBL_TIMEOUT_MS,
            servers: env.GATEHOUSE_DNS_SERVERS,
          },
        }),
    };
  });

export interface IpReputationSettings {
  /**
   * `GATEHOUSE_IP_BLOCKLISTS`: comma-separated blocklists, each `name=path`, `name=https://…`, or just a path
   * or URL (the name is then the file name without its extension: `/data/firehol_level1.netset` is
   * `firehol_level1`). Relative paths are resolved from the worker's working directory. Default: none.
   */
  readonly blocklists: readonly BlocklistSource[];
  /** Present when a blocklist is a URL. */
  readonly feeds?: {
    /** `GATEHOUSE_IP_FEED_REFRESH_MINUTES`: how often the URL feeds are downloaded again. Default: 60. */
    readonly refreshMinutes: number;
    /** `GATEHOUSE_IP_FEED_TIMEOUT_MS`: the longest one download may take. Default: 30000. */
    readonly timeoutMs: number;
  };
  /** `GATEHOUSE_MAXMIND_ASN_DB`, `…_COUNTRY_DB`, `…_ANONYMOUS_DB`: present when any is set. */
  readonly maxmind?: MaxmindPaths;
  /** Present when `GATEHOUSE_DNSBL_ZONES` names a zone. */
  readonly dnsbl?: {
    /** `GATEHOUSE_DNSBL_ZONES`: `zone` or `name=zone`, comma-separated; a listing adds the name to `lists`. */
    readonly zones: readonly DnsblZone[];
    /** `GATEHOUSE_DNSBL_TIMEOUT_MS`: the longest one zone's lookup may take. Default: 1000. */
    readonly timeoutMs: number;
    /** `GATEHOUSE_DNS_SERVERS` (shared with email-domain): the resolvers. Default: the system's. */
    readonly servers: readonly string[] | undefined;
  };
}
