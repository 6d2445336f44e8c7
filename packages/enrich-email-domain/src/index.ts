import { defineEnrichment } from "@gatehouse/enrichment-sdk";
import { emailDomainFactSchema } from "./email-domain-fact.js";
import { emailDomainInputFromRequest, emailDomainInputSchema } from "./email-domain-input.js";
import { emailDomainSettingsSchema } from "./settings.js";

export type { DomainClassification, DomainLists } from "./classify-domain.js";
export {
  type EmailDomainFact,
  emailDomainFactSchema,
  MX_STATUSES,
  type MxStatus,
} from "./email-domain-fact.js";
export type { EmailDomainHandler, EmailDomainHandlerOptions } from "./email-domain-handler.js";
export { type EmailDomainInput, emailDomainInputSchema } from "./email-domain-input.js";
export type { ResolveMx } from "./lookup-mx.js";
export { domainOfEmail, normalizeDomain } from "./normalize-domain.js";
export { type EmailDomainSettings, emailDomainSettingsSchema } from "./settings.js";

/**
 * Facts about the domain of the user's email: registrable domain, disposable, free-mail, MX.
 *
 * TTL 1 day: list membership only changes with a new release of the lists (and a new worker warms the
 * cache again), but MX records do change. An MX lookup that could not be made ("unknown": the resolver
 * failed or timed out) lives 5 minutes, so the domain is looked up again soon.
 */
export const emailDomain = defineEnrichment({
  name: "email-domain",
  version: 1,
  input: emailDomainInputSchema,
  fact: emailDomainFactSchema,
  fromRequest: emailDomainInputFromRequest,
  subject: (input) => input.domain,
  ttlSeconds: 86_400,
  ttlFor: (fact) => (fact.mx === "unknown" ? 300 : 86_400),
  timeoutMs: 5_000,
  retry: { attempts: 3, backoffMs: 500 },
  // A job is one DNS query of up to the MX timeout: waiting, not computing. 16 capped a worker at ~300 jobs/s
  // in the cold-burst benchmark (16 ÷ 50 ms); 64 lets a burst of new domains drain four times faster.
  concurrency: 64,
  settings: emailDomainSettingsSchema,
  async setup(settings) {
    // Imported here, not above: the ingress imports this package for fromRequest and subject only, and
    // must not pay for ~17k listed domains and the public suffix list.
    const [{ loadDomainLists }, { createEmailDomainHandler }] = await Promise.all([
      import("./load-domain-lists.js"),
      import("./email-domain-handler.js"),
    ]);
    return createEmailDomainHandler({ settings, lists: await loadDomainLists() });
  },
});
