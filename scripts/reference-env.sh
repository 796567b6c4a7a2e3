#!/usr/bin/env bash
# Creates (or checks) the reference environment: a virtual environment with the Hugging Face stack
# and today's PyTorch, pinned by tools/reference/requirements.txt (exact pins) and
# tools/reference/requirements.lock (the whole dependency tree, as constraints). The interop tests
# (ctest -L interop) and bench/run's reference rows run their Python there; the product never
# imports Python.
#
# One environment per machine, not per clone: it lives in a cache outside the work tree,
#   ${XDG_CACHE_HOME:-$HOME/.cache}/sculpt/reference-env-<hash>
# where <hash> covers requirements.txt, requirements.lock and the Python interpreter's version, so
# every clone with the same pins shares one install (a second clone's call costs seconds and no
# disk) and a change of pins gets a new one. The work tree gets a link, .reference-env, to it: the
# tests, bench/ and the README's commands use that path.
#   bash scripts/reference-env.sh          # create, or check and link; seconds when it exists
#   bash scripts/reference-env.sh --path   # print the environment's directory and exit
#   bash scripts/reference-env.sh --lock   # re-resolve requirements.txt and rewrite the lock file
# Environment: SCULPT_REFERENCE_ENV (the environment's directory; overrides the cache location),
# XDG_CACHE_HOME (moves the cache), PYTHON (default python3).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
reqs="$root/tools/reference/requirements.txt"
lock="$root/tools/reference/requirements.lock"
link="$root/.reference-env"
python="${PYTHON:-python3}"
SECONDS=0

die() { echo "error: $*" >&2; exit 1; }

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

# What the environment is built from: the pins and the interpreter (a venv is tied to it).
py_version="$("$python" -c 'import sys; print(sys.version)' 2>/dev/null)" ||
  die "'$python' does not run; hint: install python3 or set PYTHON to an interpreter"
want="$( { cat "$reqs" "$lock"; echo "$py_version"; } | sha256sum | cut -c1-16)"
cache_var="XDG_CACHE_HOME"
cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/sculpt"
env_dir="${SCULPT_REFERENCE_ENV:-$cache_root/reference-env-$want}"
[ -n "${SCULPT_REFERENCE_ENV:-}" ] && cache_var="SCULPT_REFERENCE_ENV"

if [ "${1:-}" = "--path" ]; then echo "$env_dir"; exit 0; fi
[ -z "${1:-}" ] || die "unknown argument '$1'; usage: scripts/reference-env.sh [--path|--lock]"

# The directory must be creatable and writable; say which variable moves it when it is not.
parent="$(dirname "$env_dir")"
if ! mkdir -p "$parent" 2>/dev/null || ! touch "$parent/.sculpt-write-test" 2>/dev/null; then
  die "cannot write the reference environment's directory $parent; hint: set $cache_var to a writable directory"
fi
rm -f "$parent/.sculpt-write-test"

# Points the work tree's .reference-env at the environment (replacing an old link; an old in-tree
# environment from before the cache is removed, it is 5-6 GB).
link_env() {
  [ "$env_dir" -ef "$link" ] && return 0
  if [ -d "$link" ] && ! [ -L "$link" ]; then
    echo "removing the in-tree environment $link ($(du -sh "$link" | cut -f1)); the shared one replaces it"
    rm -rf "$link"
  fi
  ln -sfn "$env_dir" "$link"
}

# The stamp records what the environment was built from and is written last: equal stamp + a
# working import = done.
stamp="$env_dir/.sculpt-stamp"
check='import torch, transformers, tokenizers, safetensors, peft, gguf, sentencepiece, numpy; from peft import OSFConfig'
is_ready() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$env_dir/bin/python" -c "$check" 2>/dev/null
}

# Clones on one machine may run this at the same time (CI beside a developer): one installs, the
# others wait for it under the lock and then find the environment ready.
exec 9>"$env_dir.lock"
if ! flock -n 9; then
  echo "waiting for another install of $env_dir to finish (lock $env_dir.lock)"
  flock 9
fi

if is_ready; then
  link_env
  echo "reference environment $env_dir is up to date (${SECONDS}s)"
  exit 0
fi
rm -f "$stamp"
if ! [ -x "$env_dir/bin/python" ]; then
  "$python" -m venv "$env_dir" ||
    die "'$python -m venv $env_dir' failed; hint: install python3-venv (Debian) or set PYTHON"
fi
echo "installing the reference environment into $env_dir (5.6 GB, about 2 minutes on a fast link)"
if ! "$env_dir/bin/pip" install -q --disable-pip-version-check -r "$reqs" -c "$lock"; then
  die "pip could not install $reqs into $env_dir; hint: PyPI must be reachable (set PIP_INDEX_URL for a mirror)"
fi
"$env_dir/bin/python" -c "$check" || die "the reference environment $env_dir does not import"
echo "$want" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
link_env
echo "reference environment ready: $env_dir ($(du -sh "$env_dir" | cut -f1), ${SECONDS}s)"
others=$(find "$cache_root" -maxdepth 1 -name 'reference-env-*' -type d ! -path "$env_dir" 2>/dev/null || true)
if [ -n "$others" ]; then
  echo "note: older reference environments in $cache_root (other pins; remove them when no clone needs them):"
  echo "$others" | while read -r d; do echo "  $(du -sh "$d" | cut -f1)  $d"; done
fi
