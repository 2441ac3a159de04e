#!/usr/bin/env bash
# The project's test command (`npm test`): setup, strict type-check, unit tests, notebook smoke run at the tiny preset.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== type-check (tsc --strict over lib/, test/, scripts/)"
npx tsc -p tsconfig.json
echo "== unit tests"
bash scripts/unit-tests.sh
if [ -x scripts/run-notebooks.sh ]; then
  echo "== notebooks (IFSQ_PRESET=tiny)"
  bash scripts/run-notebooks.sh --preset tiny
fi
