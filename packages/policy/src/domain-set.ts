import { normalizeDomain } from "./normalize.js";

/** Whether `domain` or one of its parents passes `has`: `eu.acme.com` is covered by `acme.com`. */
export function coveredBy(domain: string, has: (candidate: string) => boolean): boolean {
  for (let candidate = domain; ; ) {
    if (has(candidate)) return true;
    const dot = candidate.indexOf(".");
    if (dot === -1) return false;
    candidate = candidate.slice(dot + 1);
  }
}

/** Domains written in a policy; a domain is in the set when it or a parent of it is (normalized domains). */
export class DomainSet {
  readonly #domains: Set<string>;

  constructor(entries: readonly string[]) {
    this.#domains = new Set(entries.map(normalizeDomain));
  }

  has(domain: string): boolean {
    return coveredBy(domain, (candidate) => this.#domains.has(candidate));
  }
}
