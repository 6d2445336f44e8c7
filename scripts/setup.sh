#!/usr/bin/env bash
# Installs what `npm start` and `npm test` need on a fresh machine: npm packages, Debian's redis-server
# (and openssl, for the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules/.bin ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages" >&2
  # npm install, not npm ci: npm 11's ci rejects this lock file for the optional per-platform
  # binaries of Biome and Turborepo that it leaves out (npm/cli#4828); install honours the lock.
  npm install --no-audit --no-fund --loglevel=error
fi
# redis-server for every test and `npm start`; openssl for the certificates of the TLS tests.
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian's ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; }
  # The Debian package starts a system Redis on 6379; Gatehouse starts its own, so leave that one alone.
fi
