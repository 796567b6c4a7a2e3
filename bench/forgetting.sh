#!/usr/bin/env bash
# Forgetting, measured: stories260K fine-tuned on CL_Benchmark task A, then on task B with plain
# fine-tuning and with OSFT (update and gradient modes). Prints task A's held-out exact match and
# loss before and after B, task B's, and the perplexity of stories the base model wrote itself.
#   bash bench/forgetting.sh [BUILD_DIR] [WORK_DIR]
#   LR_A=1e-3 EPOCHS_A=1 LR_B=5e-4 EPOCHS_B=1 bash bench/forgetting.sh ...   (learning rates and epochs; default 2e-3, 2)
#   BASE=models/sculpt-base-small bash bench/forgetting.sh ...   (another base model; its own samples are the general text)
#   VARIANTS="plain|osft update u=0.25" bash bench/forgetting.sh ...   (a subset of the task-B runs)
#   N_TRAIN=500 N_EVAL=100 bash bench/forgetting.sh ...   (training samples per task, test samples; 1000, 200)
set -euo pipefail
build=${1:-build} work=${2:-runs/forgetting}
sculpt=$build/sculpt
shared=$(cd "$(dirname "$0")/../.." && pwd)/shared
base=${BASE:-$shared/models/stories260K/hf}  # BASE=models/sculpt-base-small for the new base
A=$shared/data/cl_benchmark/TC/agnews
B=$shared/data/cl_benchmark/SC/amazon
lr_a=${LR_A:-2e-3} epochs_a=${EPOCHS_A:-2} n_train=${N_TRAIN:-1000} n_eval=${N_EVAL:-200}
common=(--max-train-samples "$n_train" --num-epochs "$epochs_a" --effective-batch-size 8 --learning-rate "$lr_a"
        --warmup-steps 10 --seed 42 --logging-steps 0)
lr_b=${LR_B:-2e-3} epochs_b=${EPOCHS_B:-2}
common_b=(--max-train-samples "$n_train" --num-epochs "$epochs_b" --effective-batch-size 8 --learning-rate "$lr_b"
          --warmup-steps 10 --seed 42 --logging-steps 0)
mkdir -p "$work"

# General ability: 32 stories sampled from the base model itself (fixed seeds).
stories=$work/base_stories-$(echo "$base" | md5sum | cut -c1-8).jsonl  # one cache per base model
if [ ! -s "$stories" ]; then
  for s in $(seq 1 32); do
    text=$("$sculpt" -q generate --model "$base" --prompt "" --max-new-tokens 200 --temperature 1.0 --seed "$s")
    python3 -c 'import json,sys; print(json.dumps({"prompt": "", "completion": sys.argv[1]}))' "$text"
  done > "$stories"
fi
evaluate() {  # model → "A_em A_loss B_em B_loss story_ppl"
  local a b p
  a=$("$sculpt" -q eval --model "$1" --data "$A" --eval-samples "$n_eval")
  b=$("$sculpt" -q eval --model "$1" --data "$B" --eval-samples "$n_eval")
  p=$("$sculpt" -q eval --model "$1" --data "$stories" --eval-samples 0 --no-generation)
  python3 - "$a" "$b" "$p" <<'PY'
import json, sys
a, b, p = (json.loads(x) for x in sys.argv[1:])
print("%.3f %.3f %.3f %.3f %.2f" % (a["exact_match"], a["loss"], b["exact_match"], b["loss"], p["perplexity"]))
PY
}
row() { printf "| %-34s | %s |\n" "$1" "$(echo "$2" | awk '{printf "%s | %s | %s | %s | %s", $1, $2, $3, $4, $5}')"; }

[ -f "$work/A/final/model.safetensors" ] || "$sculpt" -q train --model "$base" --data "$A" --output-dir "$work/A" "${common[@]}"
echo "| model | A exact match | A loss | B exact match | B loss | base-story perplexity |"
echo "|---|---|---|---|---|---|"
base_name=$(basename "$base"); [ "$base_name" = hf ] && base_name=$(basename "$(dirname "$base")")
row "base $base_name" "$(evaluate "$base")"
row "after A (plain, lr $lr_a, $epochs_a ep)" "$(evaluate "$work/A/final")"
# VARIANTS="plain|osft update u=0.25|..." picks a subset (mode, unfreeze ratio, frozen-rest).
IFS='|' read -r -a variants <<< "${VARIANTS:-plain|osft update u=0.25|osft gradient u=0.25|osft factored u=0.25|osft update u=0.5|osft update u=0.25 frozen-rest|osft update u=0.5 frozen-rest}"
for method in "${variants[@]}"; do
  set -- $method
  name=${method// /_}
  [ "$lr_b" = 2e-3 ] && [ "$epochs_b" = 2 ] || name="${name}_lr${lr_b}_ep${epochs_b}"
  args=(--method "$1")
  [ "$1" = osft ] && args+=(--osft-mode "$2" --unfreeze-rank-ratio "${3#u=}")
  [ "${4:-}" = frozen-rest ] && args+=(--freeze-non-targets)
  [ -f "$work/$name/final/model.safetensors" ] ||
    "$sculpt" -q train --model "$work/A/final" --data "$B" --output-dir "$work/$name" "${common_b[@]}" "${args[@]}"
  row "A then B (lr $lr_b, $epochs_b ep), $method" "$(evaluate "$work/$name/final")"
done
