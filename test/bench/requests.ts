// Pre-signed request pools: every request a valid, signed, documented body with its own interceptor id,
// built before a measured window so that signing costs nothing during it.
import type { TriggerPoint } from "@gatehouse/contracts";
import { signedHeaders } from "@gatehouse/signature";
import { buildRequestBody } from "../../apps/cli/src/build-request.js";
import { type BurstWorkload, DISPOSABLE_SHARE, FREE_MAIL_SHARE, type Workload } from "./workload.js";

export type BenchTrigger = Extract<TriggerPoint, "PRE_SIGNUP" | "PRE_SESSION_CREATION">;

export const ROUTES: Record<BenchTrigger, string> = {
  PRE_SIGNUP: "/auth/interceptors/pre-signup",
  PRE_SESSION_CREATION: "/auth/interceptors/pre-session-creation",
};

export interface SignedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** What a pool is drawn from: the warm workload at random, or the cold burst's subjects one by one. */
export type PoolSpec =
  | {
      readonly kind: "warm";
      readonly trigger: BenchTrigger;
      readonly workload: Workload;
      readonly seed: number;
    }
  | { readonly kind: "burst"; readonly workload: BurstWorkload };

/** mulberry32: a small seeded generator, so a pool is the same from run to run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const pick = <T>(items: readonly T[], random: () => number): T => items[Math.floor(random() * items.length)]!;

function signUpEmail(workload: Workload, n: number, random: () => number): string {
  const roll = random();
  const domain =
    roll < DISPOSABLE_SHARE
      ? pick(workload.disposable, random)
      : roll < DISPOSABLE_SHARE + FREE_MAIL_SHARE
        ? pick(workload.freeMail, random)
        : pick(workload.domains, random);
  return `user${n}@${domain}`;
}

function body(spec: PoolSpec, n: number, random: () => number, now: Date): string {
  if (spec.kind === "burst") {
    const { domains, ips } = spec.workload;
    const overrides = { email: `user${n}@${domains[n % domains.length]}`, ip: ips[n % ips.length] };
    return JSON.stringify(buildRequestBody("PRE_SIGNUP", overrides, { test: false, now }));
  }
  const { workload } = spec;
  if (spec.trigger === "PRE_SIGNUP") {
    const overrides = { email: signUpEmail(workload, n, random), ip: pick(workload.ips, random) };
    return JSON.stringify(buildRequestBody("PRE_SIGNUP", overrides, { test: false, now }));
  }
  const user = pick(workload.users, random);
  const overrides = { user: user.userId, org: user.orgId, email: user.email, ip: pick(workload.ips, random) };
  return JSON.stringify(buildRequestBody("PRE_SESSION_CREATION", overrides, { test: false, now }));
}

/** `size` requests signed now, each with a fresh interceptor id. */
export function buildPool(spec: PoolSpec, size: number, secret: string, offset = 0): SignedRequest[] {
  const random = seededRandom(spec.kind === "warm" ? spec.seed : 1);
  const now = new Date();
  const timestamp = Math.floor(now.getTime() / 1000);
  const pool: SignedRequest[] = new Array(size);
  for (let i = 0; i < size; i++) {
    const raw = body(spec, offset + i, random, now);
    pool[i] = {
      headers: { "content-type": "application/json", ...signedHeaders({ secret, body: raw, timestamp }) },
      body: raw,
    };
  }
  return pool;
}

export function routeOf(spec: PoolSpec): string {
  return spec.kind === "burst" ? ROUTES.PRE_SIGNUP : ROUTES[spec.trigger];
}
