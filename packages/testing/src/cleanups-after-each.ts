import { afterEach } from "vitest";

/**
 * What a test leaves to undo (servers, clients, workers): push a function, and after each test they run,
 * the last pushed first. A cleanup that fails does not keep the others from running.
 */
export function cleanupsAfterEach(): (() => Promise<unknown>)[] {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });
  return cleanups;
}
