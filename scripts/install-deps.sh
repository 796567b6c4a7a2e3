#!/usr/bin/env bash
# Installs sculpt's build and test dependencies from Debian's archive (Debian 12 or newer).
# Runs apt-get through sudo when not root. Nothing is downloaded from anywhere else; the Python
# references of the interop tests come from PyPI through scripts/reference-env.sh.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git ccache   # ccache: builds reuse work across clones
  libopenblas-openmp-dev liblapacke-dev      # BLAS/LAPACK, OpenMP build (one threading runtime)
  libdnnl-dev                                # oneDNN: the bf16 GEMM of --precision bf16 (linalg/bf16_gemm.h)
  nlohmann-json3-dev libcli11-dev libpcre2-dev libsentencepiece-dev
  libgtest-dev libbenchmark-dev
  tmux                                       # the terminal test of sculpt chat
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
