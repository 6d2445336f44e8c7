import { getDomain } from "tldts";
import type { EmailDomainFact } from "./email-domain-fact.js";

/** The lists a domain is checked against, every entry a normalized domain. */
export interface DomainLists {
  readonly disposable: ReadonlySet<string>;
  readonly freeMail: ReadonlySet<string>;
}

export type DomainClassification = Pick<EmailDomainFact, "registrable" | "disposable" | "freeMail">;

// ICANN suffixes only: with the private section, every subdomain of a provider that registered its own
// suffix would be its own registrable domain, and disposable services hand out exactly such subdomains.
const TLDTS_OPTIONS = { allowPrivateDomains: false, extractHostname: false } as const;

/**
 * Classifies normalized domains. A domain matches a list when it, or its registrable domain, is on it;
 * so `x.mailinator.com` is disposable because `mailinator.com` is, and an allowlisted `mailinator.com`
 * clears every domain under it. A disposable domain is never reported as free-mail, although the
 * free-mail list holds many of them.
 */
export function createDomainClassifier(
  lists: DomainLists,
  allowlist: Iterable<string>,
): (domain: string) => DomainClassification {
  const allowed = new Set(allowlist);
  return (domain) => {
    const registrable = getDomain(domain, TLDTS_OPTIONS);
    const candidates = registrable === null || registrable === domain ? [domain] : [domain, registrable];
    const disposable =
      candidates.some((name) => lists.disposable.has(name)) && !candidates.some((name) => allowed.has(name));
    const freeMail = !disposable && candidates.some((name) => lists.freeMail.has(name));
    return { registrable, disposable, freeMail };
  };
}
