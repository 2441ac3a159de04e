#!/usr/bin/env bash
# Unit tests: node's test runner through tsx, with an explicit file list (on Node 20 a directory argument runs 0 tests).
# Usage: scripts/unit-tests.sh [test files...]   (default: every test/**/*.test.ts)
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s globstar nullglob
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/**/*.test.ts)
[ ${#files[@]} -gt 0 ] || { echo "no test files found under test/" >&2; exit 1; }
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
