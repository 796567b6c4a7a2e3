#!/usr/bin/env bash
# One step from a fresh clone to a built sculpt: Debian packages, then a Release build in build/.
# (The tests' Python references are a separate step: scripts/reference-env.sh.)
# Extra CMake flags: SCULPT_CMAKE_ARGS="-DSCULPT_WERROR=ON" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${SCULPT_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
