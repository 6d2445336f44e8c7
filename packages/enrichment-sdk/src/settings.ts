/** Defaults for the optional parts of a definition, in one place. */
export const DEFAULTS = {
  ttlSeconds: 86_400,
  timeoutMs: 5_000,
  retry: { attempts: 3, backoffMs: 500 },
  concurrency: 8,
} as const;
