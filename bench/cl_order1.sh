#!/usr/bin/env bash
# The real-data continual-learning comparison: sculpt-base-small on the standard benchmark's
# order 1 (dbpedia → amazon → yahoo → agnews) with every method, then stories260K with seqft and
# osft for the general-ability retention check (its own stories as the general text); the general
# text of sculpt-base-small is the documents its pretraining held out (held_out.jsonl). Caps keep
# the whole comparison well inside two hours on this 2-core machine. Resumable: run it again after
# Ctrl-C. Full fine-tuning methods train at LR, the LoRA methods at LORA_LR (adapters want more).
#   bash bench/cl_order1.sh [BUILD_DIR] [WORK_DIR]
#   TRAIN=500 TEST=100 LR=3e-4 LORA_LR=1e-3 THREADS=2 bash bench/cl_order1.sh ...   (the defaults)
# Writes WORK_DIR/{base-small,stories260K}/report.md with results.json, CSVs and SVG figures.
set -euo pipefail
build=${1:-build} work=${2:-runs/cl-order1}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED:-$root/../shared}
sculpt=$build/sculpt
common=(--benchmark "$shared/data/cl_benchmark" --order order1 --max-train-samples "${TRAIN:-500}"
        --max-test-samples "${TEST:-100}" --num-epochs 1 --effective-batch-size 8 --warmup-steps 10 --seed 42
        --logging-steps 25 --unfreeze-rank-ratio 0.25 --lora-rank 8 --lora-alpha 16 --threads "${THREADS:-2}")
"$sculpt" cl --model "$root/models/sculpt-base-small" --output-dir "$work/base-small" "${common[@]}" \
  --methods seqft,osft,seqlora,inclora,olora,ewc,replay,mtl --learning-rate "${LR:-3e-4}" \
  --lora-learning-rate "${LORA_LR:-1e-3}" \
  --general-eval "$root/models/sculpt-base-small/held_out.jsonl" --general-eval-samples 32
"$sculpt" cl --model "$shared/models/stories260K/hf" --output-dir "$work/stories260K" "${common[@]}" \
  --methods seqft,osft --learning-rate 2e-3 --general-eval self --general-eval-samples 32
