#!/usr/bin/env bash
# The reference environment's failure paths and its one-per-machine location, without installing
# anything: reference_env_test.sh REPO_ROOT WORK_DIR
set -uo pipefail
root="$1"; work="$2"
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=expect.sh
source "$(dirname "$0")/expect.sh"

# The interop runner: a missing and a broken environment fail (never skip) with the command.
out=$(bash "$root/tests/interop/run.sh" "$work/none" "$root/tests/interop/check_models.py" 2>&1); rc=$?
expect "missing environment" 1 "is missing; hint: run 'bash scripts/reference-env.sh'" "$out" $rc
mkdir -p "$work/broken/bin"; printf '#!/bin/sh\nexit 1\n' > "$work/broken/bin/python"; chmod +x "$work/broken/bin/python"
out=$(bash "$root/tests/interop/run.sh" "$work/broken" "$root/tests/interop/check_models.py" 2>&1); rc=$?
expect "broken environment" 1 "does not import its packages; hint: run 'bash scripts/reference-env.sh' to repair it" "$out" $rc

# A cache that cannot be written: the error names the directory and the variable that moves it.
out=$(XDG_CACHE_HOME=/dev/null/cache bash "$root/scripts/reference-env.sh" 2>&1); rc=$?
expect "unwritable XDG_CACHE_HOME" 1 "cannot write the reference environment's directory /dev/null/cache/sculpt; hint: set XDG_CACHE_HOME" "$out" $rc
out=$(SCULPT_REFERENCE_ENV=/dev/null/env bash "$root/scripts/reference-env.sh" 2>&1); rc=$?
expect "unwritable SCULPT_REFERENCE_ENV" 1 "hint: set SCULPT_REFERENCE_ENV" "$out" $rc
out=$(bash "$root/scripts/reference-env.sh" --bogus 2>&1); rc=$?
expect "unknown argument" 1 "unknown argument '--bogus'" "$out" $rc

# One environment per machine: outside the work tree, under the cache, the same for every clone
# with the same pins and Python, another for another Python.
path_a=$(XDG_CACHE_HOME="$work/cache" bash "$root/scripts/reference-env.sh" --path)
mkdir -p "$work/clone/scripts" "$work/clone/tools"
cp "$root/scripts/reference-env.sh" "$work/clone/scripts/"; cp -r "$root/tools/reference" "$work/clone/tools/"
path_b=$(XDG_CACHE_HOME="$work/cache" bash "$work/clone/scripts/reference-env.sh" --path)
expect "path under the cache" 0 "^$work/cache/sculpt/reference-env-[0-9a-f]\{16\}\$" "$path_a" 0
[ "$path_a" = "$path_b" ]; expect "same path from another clone" 0 "" "$path_b" $?
printf '#!/bin/sh\necho 3.99.0\n' > "$work/fakepy"; chmod +x "$work/fakepy"
path_c=$(XDG_CACHE_HOME="$work/cache" PYTHON="$work/fakepy" bash "$root/scripts/reference-env.sh" --path)
[ "$path_a" != "$path_c" ]; expect "another Python, another environment" 0 "" "$path_c" $?
sed -i 's/^numpy==.*/numpy==0.0.1/' "$work/clone/tools/reference/requirements.txt"
path_d=$(XDG_CACHE_HOME="$work/cache" bash "$work/clone/scripts/reference-env.sh" --path)
[ "$path_a" != "$path_d" ]; expect "other pins, another environment" 0 "" "$path_d" $?

rm -rf "$work"
finish
