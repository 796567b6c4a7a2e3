#!/usr/bin/env bash
# Builds sculpt-base-small from scratch: corpus → 8k SentencePiece vocabulary → random 6.4 M
# parameter Llama → pretraining → models/sculpt-base-small (bf16, HF layout).
#   bash recipes/sculpt-base-small/build.sh            # run or resume (every stage is skipped when done)
# Environment: SHARED (default ../shared: data/general-text and the CL_Benchmark training splits), WORK (default
# runs/sculpt-base-small), SCULPT_THREADS (default 0 = all cores), MAX_STEPS (default 1600).
# Interrupt it at any time (Ctrl-C); running it again resumes pretraining from the last checkpoint
# and ends bit-identical to an uninterrupted run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="${SHARED:-$root/../shared}"
work="${WORK:-$root/runs/sculpt-base-small}"
threads="${SCULPT_THREADS:-0}"
max_steps="${MAX_STEPS:-1600}"
sculpt="$root/build/sculpt"
bench="$shared/data/cl_benchmark"
general="$shared/data/general-text"

for d in "$bench" "$general"; do
  [ -d "$d" ] || { echo "error: $d not found; hint: set SHARED to the directory holding data/cl_benchmark and data/general-text" >&2; exit 1; }
done
[ -x "$sculpt" ] || bash "$root/scripts/setup.sh"

# 1. General English from Debian packages and ../shared/data/general-text (see build_corpus.py).
missing=()
for p in python3.11-doc fortunes fortunes-min manpages man-db groff-base bsdextrautils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
mkdir -p "$work"
if [ ! -f "$work/corpus/general-moby-dick.jsonl" ]; then
  python3 "$here/build_corpus.py" "$work/corpus" "$general"
fi
# 2. The unlabeled sentences of the CL_Benchmark *training* splits (never dev/test, never labels).
cl_train=("$bench"/*/*/train.json)
corpus=("$work/corpus" "${cl_train[@]}")

# 3. Vocabulary: SentencePiece BPE, 8192 pieces, byte fallback, trained on the whole corpus.
[ -f "$work/tokenizer/tokenizer.model" ] ||
  "$sculpt" tokenizer train -i "${corpus[@]}" --text-field text,sentence -o "$work/tokenizer" --vocab-size 8192

# 4. Model: Llama, hidden 256, 6 layers, 8 heads / 4 key-value heads, SwiGLU 688, context 512,
#    tied embeddings: 6.45 M parameters.
[ -f "$work/init/config.json" ] ||
  "$sculpt" init-model -o "$work/init" --preset small --context 512 --tokenizer "$work/tokenizer" --seed 0

# 5. Pretraining: 1600 steps × 16 sequences × 512 tokens = 13.1 M tokens (one pass over the
#    corpus), AdamW lr 1e-3 with 100 warm-up steps and cosine decay, weight decay 0.1; 0.5 % of
#    documents held out, their perplexity evaluated every 100 steps.
"$sculpt" pretrain -m "$work/init" -d "${corpus[@]}" --text-field text,sentence -o "$work/pretrain" \
  --max-steps "$max_steps" --effective-batch-size 16 --max-tokens-per-batch 4096 --learning-rate 1e-3 \
  --warmup-steps 100 --lr-scheduler cosine --weight-decay 0.1 --held-out-fraction 0.005 --eval-sequences 0 \
  --eval-steps 100 --save-steps 50 --logging-steps 10 --save-dtype bf16 --threads "$threads" --resume auto

# 6. The committed model: the final export plus the run's record.
out="$root/models/sculpt-base-small"
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp "$work/pretrain/final/"* "$out.tmp/"
cp "$work/pretrain/metrics.jsonl" "$work/pretrain/corpus.json" "$work/pretrain/training_params.json" \
   "$work/pretrain/held_out.jsonl" "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
echo "wrote $out"
