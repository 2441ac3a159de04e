#!/usr/bin/env bash
# Builds the native engine's Node-API addon: native/ifsq_native.c → build/native/ifsq_native.node, with the system C
# compiler ($CC, default gcc), the npm package node-api-headers (a devDependency: headers only, nothing compiled at
# `npm ci`), OpenBLAS (Debian: libopenblas-dev, pthread variant) and, where installed, oneDNN for the convolutions
# (Debian: libdnnl-dev). Nothing is downloaded. Called by scripts/setup.sh;
# fast (no compile) when the addon is newer than its source. When something is missing it says what and how to get it,
# and exits 0: lib/backend.ts then falls back to wasm and names the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: native engine: $*"; }
src=native/ifsq_native.c
out=build/native/ifsq_native.node
hdr=node_modules/node-api-headers/include
enable="as root on Debian: apt-get install -y gcc libc6-dev libopenblas-dev libopenblas-pthread-dev libdnnl-dev, then bash scripts/setup.sh"

if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$0" ]; then exit 0; fi
CC=${CC:-gcc}
if ! command -v "$CC" >/dev/null 2>&1; then
  say "not built: no C compiler ($CC) on PATH; training runs on wasm. To enable it: $enable"
  exit 0
fi
if [ ! -f "$hdr/node_api.h" ]; then
  say "not built: $hdr/node_api.h is missing (npm package node-api-headers); run npm ci, then bash scripts/setup.sh"
  exit 0
fi
blas_inc=()
for d in /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/aarch64-linux-gnu/openblas-pthread /usr/include/openblas; do
  [ -f "$d/cblas.h" ] && { blas_inc=(-I "$d"); break; }
done
mkdir -p build/native
tmp=$(mktemp --suffix=.node build/native/.ifsq_native.XXXXXX)
# with oneDNN's convolutions where libdnnl-dev is installed, else im2col + OpenBLAS only
dnnl=(-DIFSQ_DNNL -fopenmp -ldnnl)
if ! log=$("$CC" -O3 -fPIC -shared -Wall -I "$hdr" "${blas_inc[@]}" "$src" -o "$tmp" -lopenblas "${dnnl[@]}" 2>&1); then
  if ! log=$("$CC" -O3 -fPIC -shared -Wall -I "$hdr" "${blas_inc[@]}" "$src" -o "$tmp" -lopenblas 2>&1); then
    rm -f "$tmp"
    say "not built: the compile failed (is OpenBLAS installed?); training runs on wasm. To enable it: $enable"
    echo "$log" | head -5 | sed 's/^/  /'
    exit 0
  fi
  say "oneDNN not found (Debian: libdnnl-dev): convolutions use im2col + OpenBLAS"
fi
# it must load and multiply correctly, or it is not installed
if ! node -e '
  const a = require(process.argv[1]);
  const x = new Float32Array([1, 2, 3, 4]), c = new Float32Array(4);
  a.gemm(1, 2, 2, 2, 0, 1, x, 0, x, 0, c);
  if (c.join() !== "5,11,11,25") throw new Error("wrong product " + c.join());
' "$(pwd)/$tmp" 2>/dev/null; then
  rm -f "$tmp"
  say "not built: the compiled addon does not load or multiplies wrongly; training runs on wasm. To enable it: $enable"
  exit 0
fi
mv -f "$tmp" "$out"
say "built $out ($(node -e 'console.log(require(process.argv[1]).info())' "$(pwd)/$out"))"
