#!/usr/bin/env bash
# `npm run lab`: opens the notebooks with the project's tslab kernel (.jupyter/kernels/tslab, via JUPYTER_PATH).
# JupyterLab when installed, else Debian's classic Notebook (/usr/bin/jupyter-notebook); otherwise prints how to get one.
# Extra arguments go to Jupyter, e.g. `npm run lab -- --port 8890 --no-browser`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export JUPYTER_PATH="$PWD/.jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PYDEVD_DISABLE_FILE_VALIDATION=1
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-root)
if command -v jupyter-lab >/dev/null 2>&1; then
  exec jupyter-lab --notebook-dir="$PWD/notebooks" "${root_flag[@]}" "$@"
fi
if [ -x /usr/bin/jupyter-notebook ]; then
  echo "lab: JupyterLab is not installed; starting Debian's classic Notebook (plots need a trusted notebook: run the cells)."
  exec /usr/bin/jupyter-notebook --notebook-dir="$PWD/notebooks" "${root_flag[@]}" "$@"
fi
cat <<MSG
lab: no Jupyter front end is installed. Either
  - Debian/Ubuntu: sudo apt-get install --no-install-recommends jupyter-notebook python3-ipykernel   (classic Notebook 6)
  - anywhere:      python3 -m pip install jupyterlab                                                  (JupyterLab)
then run 'npm run lab' again. The kernel needs nothing else: JUPYTER_PATH=$PWD/.jupyter points Jupyter at the
project's tslab kernel (node_modules/tslab). Headless runs need no front end: npm run reproduce.
MSG
exit 1
