import type { EnrichmentHandler } from "@gatehouse/enrichment-sdk";
import { createDomainClassifier, type DomainLists } from "./classify-domain.js";
import { createDnsResolveMx } from "./dns-resolve-mx.js";
import type { EmailDomainFact } from "./email-domain-fact.js";
import type { EmailDomainInput } from "./email-domain-input.js";
import { lookupMx, type ResolveMx } from "./lookup-mx.js";
import { normalizeDomain } from "./normalize-domain.js";
import type { EmailDomainSettings } from "./settings.js";

export interface EmailDomainHandlerOptions {
  readonly settings: EmailDomainSettings;
  /** The disposable and free-mail lists, entries normalized (see `loadDomainLists`). */
  readonly lists: DomainLists;
  /** How MX records are fetched. Default: node:dns with the settings' servers and timeout. */
  readonly resolveMx?: ResolveMx;
}

export type EmailDomainHandler = Required<
  Pick<EnrichmentHandler<EmailDomainInput, EmailDomainFact>, "run" | "warm">
>;

/** The worker side of the email-domain enrichment: list checks in memory, one MX lookup per domain. */
export function createEmailDomainHandler(options: EmailDomainHandlerOptions): EmailDomainHandler {
  const { settings, lists } = options;
  const classify = createDomainClassifier(lists, settings.disposableAllowlist);
  const resolveMx =
    options.resolveMx ??
    createDnsResolveMx({ servers: settings.dnsServers, timeoutMs: settings.mxTimeoutMs });

  return {
    async run({ domain }, { signal }) {
      const mx = await lookupMx(domain, resolveMx, signal);
      return { domain, ...classify(domain), mx };
    },

    // Every listed disposable domain is known without I/O. Its MX is left "unknown": the answer that
    // matters, disposable, does not depend on it, and thousands of lookups at boot would be slow and noisy.
    *warm() {
      const seen = new Set<string>();
      for (const listed of lists.disposable) {
        const domain = normalizeDomain(listed);
        if (domain === undefined || seen.has(domain)) continue;
        seen.add(domain);
        const classification = classify(domain);
        if (classification.disposable)
          yield { input: { domain }, fact: { domain, ...classification, mx: "unknown" } };
      }
    },
  };
}
