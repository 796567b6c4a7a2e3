#!/usr/bin/env bash
# `sculpt cl` interrupted (SIGTERM, as Ctrl-C) at random moments and re-run with the same command
# must end with the same results and bit-identical final weights as an uninterrupted run; a
# re-run with other options into the same directory is refused.
#   cl_resume_test.sh SCULPT_BINARY TASK_JSONL WORK_DIR [INTERRUPTIONS]
set -euo pipefail
sculpt=$1 data=$2 work=$3 stops=${4:-3}
rm -rf "$work" && mkdir -p "$work"
"$sculpt" -q init-model --output-dir "$work/model" --hidden-size 48 --num-layers 2 --num-heads 4 --num-kv-heads 2 --seed 2
cl=(-q cl --model "$work/model" --task "first=$data" --task "second=$data" --methods seqft,ewc,replay,olora
    --max-test-samples 4 --num-epochs 2 --effective-batch-size 4 --save-steps 1
    --general-eval self --general-eval-samples 2 --general-eval-context 16 --threads "${THREADS:-2}" --seed 4
    --lora-learning-rate 5e-3 --learning-rate)

"$sculpt" "${cl[@]}" 3e-3 --output-dir "$work/reference"
# Everything but the timings.
summary() { grep -v '"train_seconds"' "$1/results.json"; for m in seqft ewc replay olora; do sha256sum < "$1/$m/stage-2-second/final/model.safetensors"; done; }
reference=$(summary "$work/reference")
# --lora-learning-rate reaches the LoRA methods' stages and no other.
lr() { python3 -c 'import json,sys; print("%.0e" % json.load(open(sys.argv[1]))["learning_rate"])' "$work/reference/$1/stage-1-first/training_params.json"; }
[ "$(lr olora)" = 5e-03 ] && [ "$(lr seqft)" = 3e-03 ] && [ "$(lr ewc)" = 3e-03 ] ||
  { echo "FAIL: learning rates olora $(lr olora), seqft $(lr seqft), ewc $(lr ewc); expected 5e-03, 3e-03, 3e-03"; exit 1; }

out="$work/stopped"
for i in $(seq 1 "$stops"); do
  "$sculpt" "${cl[@]}" 3e-3 --output-dir "$out" &
  pid=$!
  sleep "$(( RANDOM % 3 )).$(( RANDOM % 10 ))"
  kill -TERM "$pid" 2>/dev/null || true
  set +e
  wait "$pid"
  rc=$?
  set -e
  [ $rc -eq 0 ] || [ $rc -eq 143 ] || { echo "FAIL: interrupted run exited $rc"; exit 1; }
  echo "interruption $i: exit $rc"
done
"$sculpt" "${cl[@]}" 3e-3 --output-dir "$out"
[ "$(summary "$out")" = "$reference" ] || { echo "FAIL: resumed experiment differs from the uninterrupted one"; diff <(summary "$out") <(echo "$reference") | head; exit 1; }
echo "resumed experiment: same results, bit-identical final weights"

# Other options into the same directory: refused, one line.
set +e
err=$("$sculpt" "${cl[@]}" 1e-3 --output-dir "$out" 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || { echo "FAIL: other options accepted (exit $rc)"; exit 1; }
case "$err" in *"holds an experiment with other options"*) echo "other options: refused";; *) echo "FAIL: unexpected error: $err"; exit 1;; esac
