#!/usr/bin/env bash
# Idempotent setup (placeholder until the foundation issue lands its full version): npm ci when node_modules is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --fetch-retries=1
fi
