#!/usr/bin/env bash
# Runs one interop check in the reference environment: run.sh ENV_DIR SCRIPT.py ARGS...
# Fails (never skips) when the environment is missing or broken, saying how to create it.
set -uo pipefail
env_dir="$1"; shift
py="$env_dir/bin/python"
if ! [ -x "$py" ]; then
  echo "error: the reference environment $env_dir is missing; hint: run 'bash scripts/reference-env.sh' (or configure with -DSCULPT_REFERENCE_ENV=DIR)" >&2
  exit 1
fi
if ! "$py" -c 'import torch, transformers, tokenizers, safetensors, peft, gguf, sentencepiece, numpy' 2>/dev/null; then
  echo "error: the reference environment $env_dir does not import its packages; hint: run 'bash scripts/reference-env.sh' to repair it" >&2
  exit 1
fi
# No hub: everything the checks load is on disk.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONDONTWRITEBYTECODE=1
exec "$py" "$@"
