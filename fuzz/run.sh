#!/usr/bin/env bash
# Fuzzes one target for SECONDS (default 600) from its committed corpus, then merges what it found
# back into fuzz/corpus/<target>/ minimised (only inputs that add coverage are kept).
# A crash leaves crash-* / leak-* / timeout-* in the current directory and a non-zero exit.
#   bash fuzz/run.sh TARGET [SECONDS] [BUILD_DIR]     e.g. bash fuzz/run.sh fuzz_safetensors 600
set -euo pipefail
target=$1 seconds=${2:-600} build=${3:-build-fuzz}
cd "$(dirname "$0")/.."
bin=$build/fuzz/$target
[ -x "$bin" ] || { echo "build the fuzz targets first (README, development section): $bin missing" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "fuzz/corpus/$target/." "$work/"
"$bin" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 "$work" 2>&1 | tail -15
# The seeds stay; inputs of this run that add coverage beyond them are added (named by SHA-1).
"$bin" -merge=1 "fuzz/corpus/$target" "$work" 2>&1 | tail -2
echo "$target: $(ls "fuzz/corpus/$target" | wc -l) corpus files, $(du -sh "fuzz/corpus/$target" | cut -f1)"
