#!/usr/bin/env bash
# The whole test run: lint, typecheck, then every test against a real Redis that the test setup starts.
set -euo pipefail
cd "$(dirname "$0")/.."
npx biome check .
npx tsc --noEmit -p .
npx vitest run
