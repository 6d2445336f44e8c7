import type { DomainLists } from "./classify-domain.js";
import { normalizeDomain } from "./normalize-domain.js";

/**
 * The shipped lists, normalized like the domains they are compared with (the free-mail list holds a few
 * Unicode domains and the odd malformed entry). Imported on demand: some 17k domains that only the worker
 * needs, never the ingress, which imports this package for `fromRequest` and `subject`.
 */
export async function loadDomainLists(): Promise<DomainLists> {
  const [{ disposableEmailBlocklist }, freeMail] = await Promise.all([
    import("disposable-email-domains-js"),
    import("email-providers/all.json", { with: { type: "json" } }),
  ]);
  return { disposable: normalizedSet(disposableEmailBlocklist()), freeMail: normalizedSet(freeMail.default) };
}

function normalizedSet(domains: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const raw of domains) {
    const domain = normalizeDomain(raw);
    if (domain !== undefined) set.add(domain);
  }
  return set;
}
