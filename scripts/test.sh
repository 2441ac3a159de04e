#!/usr/bin/env bash
# The project's test command (`npm test`, what CI runs): setup, then strict type-check, unit tests and the notebook
# smoke run. All three stages run even when one fails; a summary with times ends the output; exit 1 on any failure.
#   IFSQ_SMOKE_PRESET   preset for the notebook smoke run (default tiny)
#   IFSQ_NOTEBOOK_JOBS  notebooks executed at the same time (default 1)
#   IFSQ_CELL_TIMEOUT   seconds per notebook cell (default 600)
set -uo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/setup.sh || { echo "== setup failed" >&2; exit 1; }
results=()
status=0
stage() {
  local name=$1 t=$SECONDS
  shift
  echo "== $name"
  if "$@"; then results+=("ok   $name ($((SECONDS - t)) s)"); else results+=("FAIL $name ($((SECONDS - t)) s)"); status=1; fi
}
stage "type-check (tsc --strict over lib/, test/, scripts/)" npx tsc -p tsconfig.json
stage "unit tests" bash scripts/unit-tests.sh
stage "notebooks (IFSQ_PRESET=${IFSQ_SMOKE_PRESET:-tiny})" \
  bash scripts/run-notebooks.sh --preset "${IFSQ_SMOKE_PRESET:-tiny}" --timeout "${IFSQ_CELL_TIMEOUT:-600}"
echo "== summary"
printf '%s\n' "${results[@]}"
if [ $status -eq 0 ]; then echo "== npm test passed in $((SECONDS - t0)) s"; else echo "== npm test FAILED after $((SECONDS - t0)) s"; fi
exit $status
