import { describe, expect, it } from "vitest";
import { emailDomainSettingsSchema } from "./settings.js";

const issuePaths = (env: Record<string, string>) => {
  const result = emailDomainSettingsSchema.safeParse(env);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("emailDomainSettingsSchema", () => {
  it("has a default for everything, and ignores unrelated variables", () => {
    expect(emailDomainSettingsSchema.parse({ PATH: "/usr/bin", HOME: "/root" })).toEqual({
      disposableAllowlist: [],
      dnsServers: undefined,
      mxTimeoutMs: 2_000,
    });
  });

  it("treats empty variables as unset", () => {
    const env = {
      GATEHOUSE_DISPOSABLE_ALLOWLIST: "",
      GATEHOUSE_DNS_SERVERS: "",
      GATEHOUSE_MX_TIMEOUT_MS: "",
    };
    expect(emailDomainSettingsSchema.parse(env)).toEqual({
      disposableAllowlist: [],
      dnsServers: undefined,
      mxTimeoutMs: 2_000,
    });
  });

  it("parses the comma-separated lists and the timeout", () => {
    const settings = emailDomainSettingsSchema.parse({
      GATEHOUSE_DISPOSABLE_ALLOWLIST: " Mailinator.com , bücher.de,, ",
      GATEHOUSE_DNS_SERVERS: "1.1.1.1, 127.0.0.1:5353,2606:4700::1111,[2001:db8::53]:53",
      GATEHOUSE_MX_TIMEOUT_MS: "750",
    });
    expect(settings).toEqual({
      disposableAllowlist: ["mailinator.com", "xn--bcher-kva.de"],
      dnsServers: ["1.1.1.1", "127.0.0.1:5353", "2606:4700::1111", "[2001:db8::53]:53"],
      mxTimeoutMs: 750,
    });
  });

  it("names the setting and the value it cannot use", () => {
    expect(issuePaths({ GATEHOUSE_DISPOSABLE_ALLOWLIST: "ok.com,not a domain" })).toEqual([
      'GATEHOUSE_DISPOSABLE_ALLOWLIST: "not a domain" is not a domain',
    ]);
    expect(issuePaths({ GATEHOUSE_DNS_SERVERS: "1.1.1.1,dns.google,1.1.1.1:99999" })).toEqual([
      'GATEHOUSE_DNS_SERVERS: "dns.google" is not a DNS server address',
      'GATEHOUSE_DNS_SERVERS: "1.1.1.1:99999" is not a DNS server address',
    ]);
    expect(issuePaths({ GATEHOUSE_MX_TIMEOUT_MS: "soon" })[0]).toMatch(/^GATEHOUSE_MX_TIMEOUT_MS: /);
    expect(issuePaths({ GATEHOUSE_MX_TIMEOUT_MS: "0" })[0]).toMatch(/^GATEHOUSE_MX_TIMEOUT_MS: /);
  });
});
