#!/usr/bin/env bash
# Idempotent setup; fast (well under a second) when nothing is missing. Called by `npm test` and `npm run reproduce`.
#   1. npm packages: `npm ci` when node_modules is missing or older than package-lock.json.
#   2. System packages: on Debian/Ubuntu as root, apt-get installs (without Recommends) only what is missing:
#        jupyter-nbconvert python3-nbclient jupyter-client   headless notebook execution + HTML export
#        dataset-fashion-mnist                               the data set (/usr/share/datasets/fashion-mnist)
#        chromium                                            static figure export (npm run figures), browser test
#        jupyter-notebook                                    only in CI (CI=true) or with IFSQ_WITH_NOTEBOOK_UI=1: the
#                                                            classic Notebook the browser test serves (test/browser)
#        slurmctld slurmd slurm-client munge                 only in CI (CI=true) or with IFSQ_WITH_SLURM=1: the
#                                                            job-array test's one-node cluster (no daemon is started)
#        gcc libc6-dev libopenblas-dev libopenblas-pthread-dev libdnnl-dev   the native engine's compiler, BLAS, oneDNN
#      Elsewhere it prints the exact commands to run and carries on.
#   3. The native engine's addon (scripts/build-native.sh: native/ifsq_native.c → build/native/ifsq_native.node with
#      the system compiler, node-api-headers and OpenBLAS; skipped when up to date). Without a compiler or OpenBLAS it
#      says what is missing and carries on: training then runs on wasm.
# Environment: IFSQ_SKIP_APT=1 skips step 2; IFSQ_SKIP_NATIVE=1 skips step 3; IFSQ_WITHOUT_CHROMIUM=1 leaves chromium out; IFSQ_PYTHON names the
# Python with Jupyter on non-Debian systems (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }

# ---- 1. npm --------------------------------------------------------------------------------------------------------
stamp=node_modules/.ifsq-lock.sha256
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
need_npm=0
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ]; then
  need_npm=1
elif [ -f "$stamp" ]; then
  [ "$(cat "$stamp")" = "$lock_sum" ] || need_npm=1
elif [ package-lock.json -nt node_modules/.package-lock.json ]; then
  need_npm=1
fi
if [ "$need_npm" = 1 ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --fetch-retries=1
fi
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] || echo "$lock_sum" >"$stamp"

# ---- 2. system packages --------------------------------------------------------------------------------------------
system_packages() {
  wanted=(jupyter-nbconvert python3-nbclient jupyter-client dataset-fashion-mnist gcc libc6-dev libopenblas-dev libopenblas-pthread-dev libdnnl-dev)
  [ "${IFSQ_WITHOUT_CHROMIUM:-0}" = 1 ] || wanted+=(chromium)
  if [ "${CI:-}" = true ] || [ "${IFSQ_WITH_SLURM:-0}" = 1 ]; then wanted+=(slurmctld slurmd slurm-client munge); fi
  if [ "${CI:-}" = true ] || [ "${IFSQ_WITH_NOTEBOOK_UI:-0}" = 1 ]; then wanted+=(jupyter-notebook); fi

  if [ -f /etc/debian_version ] && command -v dpkg-query >/dev/null; then
    missing=()
    for p in "${wanted[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ]; then
      say "installing Debian packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
    else
      say "missing Debian packages: ${missing[*]}. Install them with:"
      echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
    fi
    return 0
  fi

  # Not Debian: check what the runner and the notebooks need, and say how to get it.
  PY=${IFSQ_PYTHON:-/usr/bin/python3}
  py_ok=0
  if [ -x "$PY" ] && "$PY" -c "import nbclient, nbconvert, jupyter_client" 2>/dev/null; then py_ok=1; fi
  data_ok=0
  for d in /usr/share/datasets/fashion-mnist data/fashion-mnist; do
    [ -f "$d/train-images-idx3-ubyte.gz" ] && [ -f "$d/t10k-labels-idx1-ubyte.gz" ] && data_ok=1
  done
  if [ $py_ok = 0 ] || [ $data_ok = 0 ]; then
    say "this is not a Debian system, so nothing was installed. Still needed:"
    if [ $py_ok = 0 ]; then
      echo "  - Jupyter's Python packages (the notebook runner uses \$IFSQ_PYTHON, default /usr/bin/python3):"
      echo "      python3 -m pip install nbclient nbconvert jupyter_client jupyterlab"
      echo "      export IFSQ_PYTHON=\"\$(command -v python3)\"   # if that python3 is not /usr/bin/python3"
    fi
    if [ $data_ok = 0 ]; then
      echo "  - Fashion-MNIST: put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz,"
      echo "    t10k-labels-idx1-ubyte.gz (from github.com/zalandoresearch/fashion-mnist, folder data/fashion) into data/fashion-mnist/"
    fi
  fi
  if [ "${IFSQ_WITHOUT_CHROMIUM:-0}" != 1 ] && [ ! -x /usr/bin/chromium ] && [ -z "${IFSQ_CHROMIUM:-}" ]; then
    echo "  - for 'npm run figures': a Chromium or Chrome binary; set IFSQ_CHROMIUM=/path/to/chrome"
  fi
  return 0
}

[ "${IFSQ_SKIP_APT:-0}" = 1 ] || system_packages

# ---- 3. the native engine's addon ----------------------------------------------------------------------------------
[ "${IFSQ_SKIP_NATIVE:-0}" = 1 ] || bash scripts/build-native.sh
exit 0
