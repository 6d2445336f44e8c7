import type {} from "vitest";

/**
 * What the run's global setup (test/support/global-setup.ts) provides to every test file, as `inject()` reads
 * it: the URL of the one Redis started for the whole run.
 */
declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
