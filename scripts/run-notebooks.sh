#!/usr/bin/env bash
# Runs notebooks headlessly with the project's tslab kernel: scripts/run_notebooks.py under Debian's /usr/bin/python3.
# Usage: scripts/run-notebooks.sh [--preset tiny|quick|paper-cpu] [--timeout S] [--out DIR] [--no-html] [--jobs N]
#        [--progress-every S] [--frontend-ms MS | --no-frontend] [-v] [notebook.ipynb ...]   (all options: --help)
# Default: every notebooks/*.ipynb, executed copies in build/notebooks/, figure JSON in build/figures/<notebook>/.
set -euo pipefail
cd "$(dirname "$0")/.."
export JUPYTER_PATH="$PWD/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PYDEVD_DISABLE_FILE_VALIDATION=1
PY=${IFSQ_PYTHON:-/usr/bin/python3}   # Debian's Python has Jupyter; a pyenv python3 on PATH may not
if [ ! -x "$PY" ] || ! "$PY" -c "import nbclient, nbconvert, jupyter_client" 2>/dev/null; then
  echo "run-notebooks: $PY with nbclient, nbconvert and jupyter_client is needed." >&2
  echo "  Debian/Ubuntu: sudo apt-get install --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client" >&2
  echo "  elsewhere:     python3 -m pip install nbclient nbconvert jupyter_client && export IFSQ_PYTHON=\"\$(command -v python3)\"" >&2
  exit 1
fi
if [ ! -x node_modules/tslab/bin/tslab ]; then
  echo "run-notebooks: node_modules/tslab is missing; run 'npm run setup' first" >&2
  exit 1
fi
exec "$PY" scripts/run_notebooks.py "$@"
