import { isIP } from "node:net";
import { commaList, unsetIfEmpty } from "@gatehouse/enrichment-sdk";
import { z } from "zod";
import { normalizeDomain } from "./normalize-domain.js";

const domainList = z.string().transform((value, ctx) => {
  const domains: string[] = [];
  for (const item of commaList(value)) {
    const domain = normalizeDomain(item);
    if (domain === undefined) ctx.addIssue({ code: "custom", message: `"${item}" is not a domain` });
    else domains.push(domain);
  }
  return domains;
});

const PORT = /^[0-9]{1,5}$/;
const validPort = (port: string) => PORT.test(port) && Number(port) >= 1 && Number(port) <= 65_535;

/** `1.2.3.4`, `1.2.3.4:53`, `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:53`: what Resolver.setServers takes. */
function isDnsServer(server: string): boolean {
  if (isIP(server) !== 0) return !server.includes("%");
  const bracketed = /^\[([^\]]+)\](?::([^:]+))?$/.exec(server);
  if (bracketed)
    return isIP(bracketed[1] ?? "") === 6 && (bracketed[2] === undefined || validPort(bracketed[2]));
  const [host = "", port = "", ...rest] = server.split(":");
  return rest.length === 0 && isIP(host) === 4 && validPort(port);
}

const serverList = z.string().transform((value, ctx) => {
  const servers = commaList(value);
  for (const server of servers) {
    if (!isDnsServer(server))
      ctx.addIssue({ code: "custom", message: `"${server}" is not a DNS server address` });
  }
  return servers.length === 0 ? undefined : servers;
});

/** The environment variables the email-domain enrichment reads; unknown variables are ignored. */
export const emailDomainSettingsSchema = z
  .object({
    GATEHOUSE_DISPOSABLE_ALLOWLIST: z.preprocess(unsetIfEmpty, domainList.optional()),
    GATEHOUSE_DNS_SERVERS: z.preprocess(unsetIfEmpty, serverList.optional()),
    GATEHOUSE_MX_TIMEOUT_MS: z.preprocess(
      unsetIfEmpty,
      z.coerce.number().int().min(1).max(60_000).default(2_000),
    ),
  })
  .transform(
    (env): EmailDomainSettings => ({
      disposableAllowlist: env.GATEHOUSE_DISPOSABLE_ALLOWLIST ?? [],
      dnsServers: env.GATEHOUSE_DNS_SERVERS,
      mxTimeoutMs: env.GATEHOUSE_MX_TIMEOUT_MS,
    }),
  );

export interface EmailDomainSettings {
  /** `GATEHOUSE_DISPOSABLE_ALLOWLIST`: domains never reported disposable, nor any domain under them. Default: none. */
  readonly disposableAllowlist: readonly string[];
  /** `GATEHOUSE_DNS_SERVERS`: resolvers for the MX lookup, e.g. `1.1.1.1,[2606:4700::1111]:53`. Default: the system's. */
  readonly dnsServers: readonly string[] | undefined;
  /** `GATEHOUSE_MX_TIMEOUT_MS`: how long one MX lookup may take before it counts as "unknown". Default: 2000. */
  readonly mxTimeoutMs: number;
}
