// The subjects the benchmark's requests are about: many email domains, IPs and users, so that neither the
// decision cache nor idempotency is flattered by a handful of hot keys. Deterministic, so runs compare.

/** Everything a request pool draws from; plain arrays, so it crosses the IPC channel to the load generator. */
export interface Workload {
  /** Company domains, warmed before the run; the `nomx-` ones have no MX record at the stub resolver. */
  readonly domains: readonly string[];
  /** Free-mail providers (a large share of real signups). */
  readonly freeMail: readonly string[];
  /** Domains on the shipped disposable list, which the worker writes into the cache at start. */
  readonly disposable: readonly string[];
  readonly ips: readonly string[];
  /** The subset of `ips` on the benchmark's blocklist. */
  readonly blocklisted: readonly string[];
  /** Users for PRE_SESSION_CREATION, with the organization they sign in to. */
  readonly users: readonly { readonly userId: string; readonly orgId: string; readonly email: string }[];
}

const FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com"];
export const DISPOSABLE = [
  "mailinator.com",
  "guerrillamail.com",
  "yopmail.com",
  "trashmail.com",
  "10minutemail.com",
];

/** Share of PRE_SIGNUP requests from disposable domains, and from free-mail providers. */
export const DISPOSABLE_SHARE = 0.05;
export const FREE_MAIL_SHARE = 0.3;

/** The stub resolver answers NXDOMAIN for names with this prefix (about 3% of company domains). */
export const NO_MX_PREFIX = "nomx-";

const ip = (first: number, index: number) =>
  `${first}.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;

export function makeWorkload(sizes: { domains: number; ips: number; users: number }): Workload {
  const domains = Array.from({ length: sizes.domains }, (_, i) =>
    i % 33 === 7 ? `${NO_MX_PREFIX}bench-co-${i}.com` : `bench-co-${i}.com`,
  );
  // Public-looking addresses (81.x.y.z); they are only ever strings here, never contacted.
  const ips = Array.from({ length: sizes.ips }, (_, i) => ip(81, i + 1));
  const blocklisted = ips.filter((_, i) => i % 50 === 13);
  const users = Array.from({ length: sizes.users }, (_, i) => ({
    userId: `usr_bench_${i}`,
    orgId: `org_bench_${i % 97}`,
    email: `user${i}@${domains[i % domains.length]}`,
  }));
  return { domains, freeMail: FREE_MAIL, disposable: DISPOSABLE, ips, blocklisted, users };
}

/** Subjects nobody has seen: the cold burst. Every domain is new; the IPs repeat, so jobs must be shared. */
export interface BurstWorkload {
  readonly domains: readonly string[];
  readonly ips: readonly string[];
}

export function makeBurstWorkload(runId: string, size: number, ipCount: number): BurstWorkload {
  return {
    domains: Array.from({ length: size }, (_, i) => `burst-${runId}-${i}.com`),
    ips: Array.from({ length: ipCount }, (_, i) => ip(82, i + 1)),
  };
}
