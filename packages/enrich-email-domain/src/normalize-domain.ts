import { domainToASCII } from "node:url";

// domainToASCII parses its argument as a URL host, so "evil.com/x.example" would come back as "evil.com":
// anything that a URL treats as a delimiter, and any space or control character, is refused before it.
const URL_DELIMITER = /[\s\p{Cc}/\\?#@:%[\]<>^|"']/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const NUMERIC = /^[0-9]+$/;
// Plain ASCII names without punycode labels are already what domainToASCII returns (it costs ~1 µs a call).
const PLAIN_ASCII = /^[a-z0-9.-]+$/;
// Two or more such labels, dot-separated: what most mail domains are, and every check below passes them as
// they are (the last label still must not be all digits). One pattern instead of the delimiter test, the
// split and a test per label, on every request that carries an email.
const PLAIN_HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NUMERIC_TOP_LABEL = /\.[0-9]+$/;

/**
 * The canonical ASCII form of a mail domain: trimmed, lower-case, without a trailing dot, IDN labels in
 * punycode (`bücher.de` → `xn--bcher-kva.de`). Undefined when the result is not a plausible hostname:
 * every label 1-63 letters, digits or inner hyphens, 253 characters at most, at least two labels, and a
 * top-level label that is not all digits (so an IPv4 address is not a domain).
 */
export function normalizeDomain(raw: string): string | undefined {
  let domain = raw.trim().toLowerCase();
  if (domain.endsWith(".")) domain = domain.slice(0, -1);
  if (domain.length <= 253 && PLAIN_HOST.test(domain) && !domain.includes("xn--")) {
    return NUMERIC_TOP_LABEL.test(domain) ? undefined : domain;
  }
  if (domain === "" || URL_DELIMITER.test(domain)) return undefined;
  const ascii = PLAIN_ASCII.test(domain) && !domain.includes("xn--") ? domain : domainToASCII(domain);
  if (ascii === "" || ascii.length > 253) return undefined;
  const labels = ascii.split(".");
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return undefined;
  if (NUMERIC.test(labels[labels.length - 1] ?? "")) return undefined;
  return ascii;
}

/** The normalized domain part of an email address (after its last "@"), or undefined. */
export function domainOfEmail(email: string): string | undefined {
  const at = email.lastIndexOf("@");
  return at < 1 ? undefined : normalizeDomain(email.slice(at + 1));
}
