#!/usr/bin/env bash
# Training into a tiny tmpfs: the checkpoint that no longer fits fails with a clear one-line
# error, the previous checkpoint stays complete and is what --resume picks, no half-written
# checkpoint is left, and once there is room the run resumes to the same weights as a run that
# never ran out of space. Needs mount (root); exits 77 (skipped) where it cannot mount.
#   full_disk_test.sh SCULPT_BINARY DATA_JSONL WORK_DIR
set -euo pipefail
sculpt=$1 data=$2 work=$3
rm -rf "$work" && mkdir -p "$work/disk"
if ! mount -t tmpfs -o size=700k tmpfs "$work/disk" 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs here (needs root)"; exit 77
fi
trap 'umount "$work/disk" 2>/dev/null || true' EXIT
"$sculpt" -q init-model --output-dir "$work/model" --hidden-size 32 --num-layers 1 --num-heads 2 --seed 1
train=(-q train --model "$work/model" --data "$data" --max-steps 12 --effective-batch-size 4 --learning-rate 1e-3
       --save-steps 2 --save-total-limit 2 --seed 3 --threads 1)
"$sculpt" "${train[@]}" --output-dir "$work/reference"
reference=$(sha256sum < "$work/reference/final/model.safetensors")

# One checkpoint is ~310 kB (weights + AdamW moments): two fit in 700 kB, the third does not.
set +e
err=$("$sculpt" "${train[@]}" --output-dir "$work/disk/run" 2>&1 >/dev/null)
rc=$?
set -e
[ $rc -eq 1 ] || { echo "FAIL: exit code $rc on a full disk"; exit 1; }
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "FAIL: not one line: $err"; exit 1; }
case "$err" in *"disk full"*|*"No space left"*) ;; *) echo "FAIL: unclear error: $err"; exit 1;; esac
echo "full disk: $err"
complete=$(ls -d "$work"/disk/run/checkpoints/step-*/DONE | wc -l)
[ "$complete" -ge 1 ] || { echo "FAIL: no complete checkpoint left"; exit 1; }
if ls -d "$work"/disk/run/checkpoints/*.tmp-* >/dev/null 2>&1; then echo "FAIL: a half-written checkpoint was left"; exit 1; fi
for d in "$work"/disk/run/checkpoints/step-*; do
  [ -f "$d/DONE" ] || { echo "FAIL: $d has no DONE marker"; exit 1; }
done
echo "previous checkpoints intact: $(ls "$work/disk/run/checkpoints" | tr '\n' ' ')"

# Room again: resume ends where the uninterrupted run ended.
mount -o remount,size=8m "$work/disk"
"$sculpt" "${train[@]}" --output-dir "$work/disk/run" --resume auto
[ "$(sha256sum < "$work/disk/run/final/model.safetensors")" = "$reference" ] || { echo "FAIL: resumed run differs"; exit 1; }
echo "resumed after the disk filled: bit-identical final weights"
