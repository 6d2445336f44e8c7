// Warms the decision cache the way production does: one signed request per subject through the ingress
// (a miss, an enqueued job, the worker's lookup at the stub providers, a written and announced fact), then
// waits until every fact the measured requests will read is in Redis.
import { type CacheKeys, decodeFact } from "@gatehouse/decision-cache";
import { factKey } from "@gatehouse/enrichment-sdk";
import { ENRICHMENTS } from "@gatehouse/enrichments";
import type { Redis } from "@gatehouse/redis";
import { signedHeaders } from "@gatehouse/signature";
import { buildRequestBody } from "../../apps/cli/src/build-request.js";
import { type BenchTrigger, ROUTES } from "./requests.js";
import type { Workload } from "./workload.js";

export interface WarmReport {
  readonly trigger: BenchTrigger;
  readonly requests: number;
  readonly seconds: number;
  readonly facts: Record<string, number>;
}

async function send(url: string, secret: string, trigger: BenchTrigger, overrides: Record<string, string>) {
  const body = JSON.stringify(buildRequestBody(trigger, overrides, { test: false }));
  const response = await fetch(`${url}${ROUTES[trigger]}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...signedHeaders({ secret, body }) },
    body,
  });
  await response.text();
}

/** Runs `tasks` with at most `concurrency` at a time. */
async function inParallel(tasks: (() => Promise<void>)[], concurrency: number): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  });
  await Promise.all(lanes);
}

/** How many of `keys` are not in Redis yet. */
async function countMissing(redis: Redis, keys: readonly string[]): Promise<number> {
  let missing = 0;
  for (let i = 0; i < keys.length; i += 1000) {
    const pipeline = redis.pipeline();
    for (const key of keys.slice(i, i + 1000)) pipeline.exists(key);
    const results = (await pipeline.exec()) ?? [];
    missing += results.filter(([, exists]) => exists !== 1).length;
  }
  return missing;
}

export async function waitForFacts(
  redis: Redis,
  keys: readonly string[],
  timeoutMs: number,
): Promise<number> {
  const until = Date.now() + timeoutMs;
  let missing = await countMissing(redis, keys);
  while (missing > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    missing = await countMissing(redis, keys);
  }
  return missing;
}

export const emailDomainKey = (keys: CacheKeys, domain: string) =>
  factKey(keys, ENRICHMENTS["email-domain"], { domain });
export const ipKey = (keys: CacheKeys, ip: string) => factKey(keys, ENRICHMENTS["ip-reputation"], { ip });
const claimsKey = (keys: CacheKeys, userId: string, organizationId: string) =>
  factKey(keys, ENRICHMENTS["user-claims"], { userId, organizationId });

type WarmOptions = {
  url: string;
  secret: string;
  redis: Redis;
  keys: CacheKeys;
  workload: Workload;
  timeoutMs: number;
};

/** Sends `tasks` (64 at a time), then waits until every fact key in `facts` (by enrichment) is in Redis. */
async function warmThrough(
  options: WarmOptions,
  trigger: BenchTrigger,
  tasks: (() => Promise<void>)[],
  facts: Record<string, readonly string[]>,
): Promise<WarmReport> {
  const started = performance.now();
  await inParallel(tasks, 64);
  const missing = await waitForFacts(options.redis, Object.values(facts).flat(), options.timeoutMs);
  if (missing > 0)
    throw new Error(`cache warm: ${missing} facts still missing after ${options.timeoutMs} ms`);
  return {
    trigger,
    requests: tasks.length,
    seconds: (performance.now() - started) / 1000,
    facts: Object.fromEntries(Object.entries(facts).map(([name, keys]) => [name, keys.length])),
  };
}

/**
 * Warms every PRE_SIGNUP subject of `workload` (domains and IPs); returns the workload with the listed
 * disposable domains whose fact the worker did not write dropped (and named).
 */
export async function warmSignups(
  options: WarmOptions,
): Promise<{ report: WarmReport; workload: Workload; disposableMissing: string[] }> {
  const { url, secret, redis, keys, workload } = options;
  const tasks: (() => Promise<void>)[] = [];
  const signupDomains = [...workload.domains, ...workload.freeMail];
  const pairs = Math.max(signupDomains.length, workload.ips.length);
  for (let i = 0; i < pairs; i++) {
    const overrides = {
      email: `warm${i}@${signupDomains[i % signupDomains.length]}`,
      ip: workload.ips[i % workload.ips.length]!,
    };
    tasks.push(() => send(url, secret, "PRE_SIGNUP", overrides));
  }
  const report = await warmThrough(options, "PRE_SIGNUP", tasks, {
    "email-domain": signupDomains.map((domain) => emailDomainKey(keys, domain)),
    "ip-reputation": workload.ips.map((ip) => ipKey(keys, ip)),
  });

  // The disposable domains come from the worker's own warm of the shipped list.
  const disposableMissing: string[] = [];
  for (const domain of workload.disposable) {
    const raw = await redis.get(emailDomainKey(keys, domain));
    const fact = raw ? (decodeFact(raw)?.fact as { disposable?: boolean } | undefined) : undefined;
    if (fact?.disposable !== true) disposableMissing.push(domain);
  }
  const disposable = workload.disposable.filter((domain) => !disposableMissing.includes(domain));
  if (disposable.length === 0) throw new Error("cache warm: the worker wrote none of the disposable domains");
  return {
    report: {
      ...report,
      facts: { ...report.facts, "email-domain": (report.facts["email-domain"] ?? 0) + disposable.length },
    },
    workload: { ...workload, disposable },
    disposableMissing,
  };
}

/**
 * Warms every PRE_SESSION_CREATION subject of `workload` (the users' claims). Run just before the session
 * windows: claims live 300 s and are refreshed after 80% of that, so warmed with the sign-up subjects at
 * the start of a full run (minutes earlier) they were all due for refresh, some already gone, when the
 * windows began — a wave of refresh jobs and waits measured as "warm".
 */
export async function warmSessions(options: WarmOptions): Promise<WarmReport> {
  const { url, secret, keys, workload } = options;
  const tasks = workload.users.map((user) => {
    const overrides = { user: user.userId, org: user.orgId, email: user.email };
    return () => send(url, secret, "PRE_SESSION_CREATION", overrides);
  });
  return warmThrough(options, "PRE_SESSION_CREATION", tasks, {
    "user-claims": workload.users.map((user) => claimsKey(keys, user.userId, user.orgId)),
  });
}
