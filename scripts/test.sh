#!/usr/bin/env bash
# The project's test command (`npm test`, what CI runs): setup, strict type-check, unit tests, notebook smoke run.
#   IFSQ_SMOKE_PRESET  preset for the notebook smoke run (default tiny)
#   IFSQ_NOTEBOOK_JOBS notebooks executed at the same time (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/setup.sh
echo "== type-check (tsc --strict over lib/, test/, scripts/)"
npx tsc -p tsconfig.json
echo "== unit tests"
bash scripts/unit-tests.sh
echo "== notebooks (IFSQ_PRESET=${IFSQ_SMOKE_PRESET:-tiny})"
bash scripts/run-notebooks.sh --preset "${IFSQ_SMOKE_PRESET:-tiny}" --timeout "${IFSQ_CELL_TIMEOUT:-600}"
echo "== npm test passed in $((SECONDS - t0)) s"
