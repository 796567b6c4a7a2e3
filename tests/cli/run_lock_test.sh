#!/usr/bin/env bash
# One run per output directory. While `sculpt train` runs (held stopped with SIGSTOP, so the timing
# cannot matter), a second train, a cl and a pretrain into the same --output-dir are refused at
# once with exit 1 and one line naming the first run's pid; after the first is killed with
# SIGKILL, its lock is no obstacle: a new run takes it over and resumes, and metrics.jsonl holds
# one line per step, in order.
#   run_lock_test.sh SCULPT_BINARY DATA_JSONL TEXT_JSONL WORK_DIR
set -euo pipefail
sculpt=$1 data=$2 text=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
"$sculpt" -q init-model --output-dir "$work/model" --hidden-size 48 --num-layers 2 --num-heads 4 --num-kv-heads 2 --seed 2
out="$work/out"
train=(-q train --model "$work/model" --data "$data" --max-steps 40 --effective-batch-size 4 --save-steps 10
       --logging-steps 1 --threads 1 --seed 1 --output-dir "$out")
fail() { echo "FAIL: $*"; exit 1; }

"$sculpt" "${train[@]}" &
first=$!
for _ in $(seq 1 600); do grep -q "^pid $first " "$out/sculpt.lock" 2>/dev/null && break; sleep 0.05; done
kill -STOP "$first"
grep -q "^pid $first " "$out/sculpt.lock" || fail "the first run never took the lock"

host=$(hostname)
refused() {  # refused WHAT ARGS...: the command exits 1 with the one-line lock error
  local what=$1; shift
  set +e
  local err
  err=$("$sculpt" "$@" 2>&1 >/dev/null)
  local rc=$?
  set -e
  [ $rc -eq 1 ] || fail "$what: exit $rc, expected 1 ($err)"
  local start="error: $out: another sculpt run is using this output directory (pid $first on $host, sculpt train since "
  local end=" UTC) (hint: wait for it to finish, or choose another --output-dir)"
  [[ "$err" == "$start"*"$end" ]] || fail "$what: unexpected message: $err"
  [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || fail "$what: more than one line: $err"
  echo "$what refused: $err"
}
refused "a second train" "${train[@]}"
refused "cl" -q cl --model "$work/model" --task "t=$data" --methods seqft --max-steps 1 --output-dir "$out"
refused "pretrain" -q pretrain --model "$work/model" --data "$text" --max-steps 1 --context 16 --output-dir "$out"

kill -KILL "$first"
wait "$first" 2>/dev/null || true
"$sculpt" "${train[@]}" --resume auto
[ -f "$out/final/model.safetensors" ] || fail "the resumed run did not finish"
python3 - "$out/metrics.jsonl" <<'PY' || fail "metrics.jsonl is not one line per step in order"
import json, sys
steps = [json.loads(l)["step"] for l in open(sys.argv[1]) if l.strip() and "loss" in json.loads(l)]
assert steps == list(range(1, 41)), steps
PY
echo "killed run's lock taken over; resumed to the end; metrics one line per step"
