import { domainToASCII } from "node:url";

/** A domain as lists and requests are compared: ASCII (punycode), lower case, no trailing dot; "" if invalid. */
export function normalizeDomain(domain: string): string {
  const trimmed = domain.trim().replace(/\.$/, "").toLowerCase();
  // Plain ASCII host names (nearly all) are already what domainToASCII would return; it costs ~0.5 µs.
  return PLAIN.test(trimmed) && !trimmed.includes("..") ? trimmed : domainToASCII(trimmed);
}

const PLAIN = /^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;

/** An email address as lists and requests are compared: lower case, its domain normalized. */
export function normalizeEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "";
  const domain = normalizeDomain(email.slice(at + 1));
  return domain === "" ? "" : `${email.slice(0, at).toLowerCase()}@${domain}`;
}
