#!/usr/bin/env bash
# `npm run reproduce`: set up, run every notebook at the default preset, write executed notebooks (.ipynb + .html) to
# build/notebooks/ and figures (JSON, PNG, SVG) to build/figures/<notebook>/.
#   IFSQ_PRESET   tiny | quick (default) | paper-cpu       IFSQ_BACKEND  cpu | wasm | tensorflow | tensorflow-gpu
#   IFSQ_CELL_TIMEOUT  seconds one cell may run (default 14400: a training cell that trains several runs takes tens of
#                      minutes at quick on a busy 2-core machine, hours at paper-cpu; the limit only catches a hang)
#   IFSQ_NOTEBOOK_JOBS notebooks run at once (default 2, longest first: one notebook's single-core phases — sampling,
#                      evaluation — overlap the other's training; runs both need are trained once, through the locks)
#   extra arguments go to the runner, e.g. `npm run reproduce -- notebooks/00-tour.ipynb --jobs 1`, except
#   --update-reference: after the comparison, copy this run's results files into notebooks/reference/<preset>/
# It ends with the comparison of the results files the notebooks wrote in this run against the committed references
# (scripts/compare-results.ts): a moved number is reported, a malformed results or reference file fails the reproduce.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
preset=${IFSQ_PRESET:-quick}
compare_args=()
runner_args=()
for a in "$@"; do
  if [ "$a" = "--update-reference" ]; then compare_args+=(--update-reference); else runner_args+=("$a"); fi
done
bash scripts/setup.sh
echo "== notebooks (IFSQ_PRESET=$preset${IFSQ_BACKEND:+, IFSQ_BACKEND=$IFSQ_BACKEND})"
status=0
started=$(date +%s)
bash scripts/run-notebooks.sh --preset "$preset" --timeout "${IFSQ_CELL_TIMEOUT:-14400}" --jobs "${IFSQ_NOTEBOOK_JOBS:-2}" --longest-first ${runner_args[@]+"${runner_args[@]}"} || status=$?
echo "== figures (PNG + SVG)"
npx tsx scripts/export-figures.ts || status=1
echo "== this run against the committed reference (notebooks/reference/$preset/)"
npx tsx scripts/compare-results.ts --preset "$preset" --since "$started" ${compare_args[@]+"${compare_args[@]}"} || status=1
echo "== reproduce finished in $((SECONDS - t0)) s: executed notebooks in build/notebooks/, figures in build/figures/"
[ $status -eq 0 ] || echo "== some steps failed (see above)" >&2
exit $status
