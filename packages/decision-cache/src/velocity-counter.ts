import type { CacheKeys } from "./keys.js";

/** One velocity counter as the read script takes it: a fixed window and the one before it. */
export interface CounterKeys {
  readonly current: string;
  readonly previous: string;
  readonly ttlMs: number;
}

/**
 * The keys of a sliding-window counter of `windowSeconds` for one subject at `now`: fixed windows, each kept
 * for two window lengths so the previous one can still be read.
 */
export function counterKeys(
  keys: CacheKeys,
  counter: string,
  subject: string,
  windowSeconds: number,
  now: number,
): CounterKeys {
  const index = Math.floor(now / (windowSeconds * 1000));
  return {
    current: keys.velocity(counter, subject, index),
    previous: keys.velocity(counter, subject, index - 1),
    ttlMs: 2 * windowSeconds * 1000 + 1000,
  };
}

/**
 * The sliding-window estimate from two fixed windows: this window's count plus the previous window's,
 * weighted by how much of it still lies within one window length of `now`.
 */
export function slidingCount(current: number, previous: number, windowSeconds: number, now: number): number {
  const windowMs = windowSeconds * 1000;
  const elapsed = (now % windowMs) / windowMs;
  return current + previous * (1 - elapsed);
}
