import { defineConfig } from "vitest/config";

// One run for the whole repository: unit tests next to the code, cross-package tests in test/.
// The global setup starts a real Redis on an ephemeral port; each test isolates its own keys.
export default defineConfig({
  test: {
    include: ["apps/*/src/**/*.test.ts", "packages/*/src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
