#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer: Debian packages, then
# every test built in build-asan/ (its own directory: build/ stays the fast Release build of the
# README's commands) and run there. Any sanitizer report fails the test that triggered it. -Og keeps
# the instrumented build about as cheap to compile as Release. It builds the baseline x86-64 kernels
# only (-DSCULPT_SIMD_CLONES=OFF): the Release suite runs the AVX2 clones, this one the others.
# CI (.ci/run) runs this after the Release suite, as a unity build:
#   SCULPT_CMAKE_ARGS="-DSCULPT_UNITY=ON" bash scripts/test.sh
# Extra CMake flags: SCULPT_CMAKE_ARGS="-DSCULPT_WERROR=ON" bash scripts/test.sh
# One half only (CI times them apart): bash scripts/test.sh build | bash scripts/test.sh test
set -euo pipefail
cd "$(dirname "$0")/.."
step="${1:-all}"
case "$step" in all|build|test) ;; *) echo "error: unknown step '$step'; usage: scripts/test.sh [build|test]" >&2; exit 2;; esac
if [ "$step" != test ]; then
  bash scripts/install-deps.sh
  # shellcheck disable=SC2086
  cmake -S . -B build-asan -DSCULPT_SANITIZE=ON -DSCULPT_SIMD_CLONES=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1" ${SCULPT_CMAKE_ARGS:-} >/dev/null
  cmake --build build-asan -j"$(nproc)"
fi
[ "$step" = build ] && exit 0
bash scripts/reference-env.sh  # the interop tests run in it (seconds when it exists)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
