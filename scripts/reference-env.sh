#!/usr/bin/env bash
# Creates (or checks) the reference environment: a virtual environment at .reference-env/ with the
# Hugging Face stack and today's PyTorch, pinned by tools/reference/requirements.txt (exact pins)
# and tools/reference/requirements.lock (the whole dependency tree, as constraints). The interop
# tests (ctest -L interop) and bench/run's reference rows run their Python there; the product
# never imports Python.
#   bash scripts/reference-env.sh          # create or update; a second call costs seconds
#   bash scripts/reference-env.sh --lock   # re-resolve requirements.txt and rewrite the lock file
# Environment: SCULPT_REFERENCE_ENV (default <repo>/.reference-env), PYTHON (default python3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
env_dir="${SCULPT_REFERENCE_ENV:-$root/.reference-env}"
reqs="$root/tools/reference/requirements.txt"
lock="$root/tools/reference/requirements.lock"
python="${PYTHON:-python3}"
SECONDS=0

if [ "${1:-}" = "--lock" ]; then
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  "$python" -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install -q --disable-pip-version-check -r "$reqs"
  { echo "# Every package of the reference environment at the version scripts/reference-env.sh installs"
    echo "# (pip freeze of it; used as constraints). Regenerate with: scripts/reference-env.sh --lock"
    "$tmp/venv/bin/pip" freeze; } > "$lock.tmp" && mv "$lock.tmp" "$lock"
  echo "wrote $lock"
  exit 0
fi

# The stamp records what the environment was built from; equal stamp + a working import = done.
stamp="$env_dir/.sculpt-stamp"
want="$(cat "$reqs" "$lock" | sha256sum | cut -d' ' -f1)"
check='import torch, transformers, tokenizers, safetensors, peft, gguf, sentencepiece, numpy; from peft import OSFConfig'
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$env_dir/bin/python" -c "$check" 2>/dev/null; then
  echo "reference environment $env_dir is up to date (${SECONDS}s)"
  exit 0
fi
if ! [ -x "$env_dir/bin/python" ]; then
  "$python" -m venv "$env_dir" || {
    echo "error: '$python -m venv $env_dir' failed; hint: install python3-venv (Debian) or set PYTHON" >&2
    exit 1; }
fi
echo "installing the reference environment into $env_dir (about 6 GB, 1-2 minutes on a fast link)"
if ! "$env_dir/bin/pip" install -q --disable-pip-version-check -r "$reqs" -c "$lock"; then
  echo "error: pip could not install $reqs into $env_dir; hint: PyPI must be reachable (set PIP_INDEX_URL for a mirror)" >&2
  exit 1
fi
"$env_dir/bin/python" -c "$check" || { echo "error: the reference environment $env_dir does not import" >&2; exit 1; }
echo "$want" > "$stamp"
echo "reference environment ready: $env_dir ($(du -sh "$env_dir" | cut -f1), ${SECONDS}s)"
