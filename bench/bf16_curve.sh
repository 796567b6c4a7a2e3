#!/usr/bin/env bash
# bf16 against fp32 precision on SmolLM2-135M-Instruct (issue 23, point 5): the same OSFT run
# (update mode, u = 0.25, 200 steps of 4 dbpedia examples, seed 42) once per precision, then
# bench/bf16_curve.py compares the loss curves step by step, the held-out loss (every EVAL_STEPS
# steps on EVAL_SAMPLES test examples, in each run's precision), OSFT's logged leak into the
# protected subspace on the fp32 masters, the step times and the peak memory.
# A third run, fp32-alt, is fp32 again with OpenBLAS's Haswell kernels instead of the AVX-512 ones
# (OPENBLAS_CORETYPE): the same arithmetic summed in another order, so its distance from the fp32
# run is the floor any change of rounding meets (step 1's loss differs in the 7th digit).
#   bash bench/bf16_curve.sh [BUILD_DIR] [WORK_DIR]      (resumable: re-run to continue)
#   STEPS=200 BATCH=4 SEQ=128 EVAL_STEPS=25 EVAL_SAMPLES=100 THREADS=2 bash bench/bf16_curve.sh ...
# Writes WORK_DIR/{fp32,bf16}/ (metrics.jsonl, train.log) and prints the comparison as JSON.
set -euo pipefail
build=${1:-build} work=${2:-runs/bf16-curve}
root=$(cd "$(dirname "$0")/.." && pwd)
model=${MODEL:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}
data=$root/../shared/data/cl_benchmark/TC/dbpedia
steps=${STEPS:-200} batch=${BATCH:-4} seq=${SEQ:-128} eval_steps=${EVAL_STEPS:-25} eval_samples=${EVAL_SAMPLES:-100} threads=${THREADS:-2}
[ -f "$model" ] || { echo "bf16_curve: no $model (scripts/fetch-models.sh fetches it)" >&2; exit 1; }
[ -d "$data" ] || { echo "bf16_curve: no $data (../shared/data is not here)" >&2; exit 1; }
mkdir -p "$work"
# The commit of the binary that ran (by default HEAD at the first start; a resumed run keeps it).
[ -f "$work/commit" ] || git -C "$root" rev-parse --short HEAD > "$work/commit"
for run in fp32 bf16 fp32-alt; do
  out=$work/$run precision=${run%-alt} coretype=
  [ "$run" = fp32-alt ] && coretype=Haswell
  [ -d "$out/final" ] && continue
  OPENBLAS_CORETYPE=$coretype "$build/sculpt" train --model "$model" --data "$data" --output-dir "$out" --method osft --unfreeze-rank-ratio 0.25 \
    --max-steps "$steps" --effective-batch-size "$batch" --max-seq-len "$seq" --learning-rate 1e-4 --warmup-steps 10 \
    --seed 42 --logging-steps 10 --save-steps 25 --save-total-limit 1 --threads "$threads" --precision "$precision" \
    --save-dtype f32 --eval-data "$data" --eval-steps "$eval_steps" --eval-samples "$eval_samples" 2>> "$out.log"
done
python3 "$root/bench/bf16_curve.py" "$work"
