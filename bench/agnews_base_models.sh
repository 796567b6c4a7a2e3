#!/usr/bin/env bash
# sculpt-base-small against stories260K on one benchmark task under the same budget: agnews,
# 1000 training samples, 1 epoch, batch 8, the same learning rates (each model's better of two),
# exact match on 200 test samples (greedy, O-LoRA protocol). Prints one line per model and rate.
#   bash bench/agnews_base_models.sh [BUILD_DIR] [WORK_DIR]
set -euo pipefail
build=${1:-build} work=${2:-runs/agnews-base-models}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$root/../shared}
sculpt=$build/sculpt
task=$shared/data/cl_benchmark/TC/agnews
mkdir -p "$work"
printf '%-20s %-8s %-12s %-10s %s\n' model lr "exact match" "eval loss" seconds
for model in "$root/models/sculpt-base-small" "$shared/models/stories260K/hf"; do
  name=$(basename "$model"); [ "$name" = hf ] && name=stories260K
  for lr in 3e-4 1e-3; do
    out=$work/$name-$lr
    rm -rf "$out"
    start=$(date +%s)
    "$sculpt" -q train --model "$model" --data "$task" --output-dir "$out" --max-train-samples 1000 --num-epochs 1 \
      --effective-batch-size 8 --learning-rate "$lr" --warmup-steps 10 --seed 42 --logging-steps 0 \
      --eval-data "$task" --eval-samples 200
    secs=$(( $(date +%s) - start ))
    last=$(grep eval_exact_match "$out/metrics.jsonl" | tail -1)
    em=$(sed -E 's/.*"eval_exact_match":([0-9.eE+-]+).*/\1/' <<< "$last")
    loss=$(sed -E 's/.*"eval_loss":([0-9.eE+-]+).*/\1/' <<< "$last")
    printf '%-20s %-8s %-12s %-10s %s\n' "$name" "$lr" "$(awk -v x="$em" 'BEGIN{printf "%.1f %%", 100*x}')" \
      "$(awk -v x="$loss" 'BEGIN{printf "%.3f", x}')" "$secs"
  done
done
