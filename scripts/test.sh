#!/usr/bin/env bash
# The whole test run: lint, typecheck, build the deployable apps, then every test against a real Redis that the test setup starts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/audit.sh
npx biome check .
npx tsc --noEmit -p .
TURBO_TELEMETRY_DISABLED=1 npx turbo run build --output-logs=errors-only
npx vitest run
