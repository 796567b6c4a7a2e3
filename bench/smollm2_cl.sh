#!/usr/bin/env bash
# The paper's experiment on a real pretrained model: SmolLM2-135M-Instruct (fp32, from its GGUF via
# `scripts/get-models.sh --hf smollm2`) on the standard CL benchmark, every method, in two phases.
#
#   bash bench/smollm2_cl.sh search     # learning rates chosen on training data only
#   bash bench/smollm2_cl.sh final      # the test runs, each method at its best searched rate
#   bash bench/smollm2_cl.sh status     # which runs are done, with their AA / BWT
#   bash bench/smollm2_cl.sh collect    # copy finished runs' results into docs/results/smollm2-135m/
#   bash bench/smollm2_cl.sh prune      # delete the model files of finished runs (results stay)
#   DRY_RUN=1 bash bench/smollm2_cl.sh final   # print the runs and their rates, run nothing
#
# search: a benchmark cut from the *training* files (bench/cl_dev_split.py: 200 training and 100
# scoring examples per task, disjoint, never a test record), the first two tasks of order 1
# (dbpedia -> amazon: one transition, where forgetting shows), each method at four learning rates
# (the same budget for every method: full fine-tuning methods 1e-5, 3e-5, 1e-4, 3e-4; the LoRA
# methods 1e-4, 3e-4, 1e-3, 3e-3; the fourth rate of each was added when the first three put the
# best AA of OSFT, SeqFT and O-LoRA at the top of the grid).
#
# final: the benchmark's own files (200 training and 200 test examples per task, seeded), all four
# tasks in orders 1-3 for SeqFT, O-LoRA, both OSFT variants and MTL, order 1 for the others; each
# method at its best searched rate by AA (ties: the smaller rate), which needs all four of its
# search runs finished (a method still searching is skipped with a message). The model is the GGUF
# itself (the search used its converted directory); general ability is the perplexity and KL to
# the base on 32 sequences of the State of the Union addresses (../shared/data/general-text/sotu),
# which no task or search uses.
# Orders run one after another, order 1 of every method first.
#
# Every run is its own `sculpt cl` directory under $WORK (default runs/smollm2-cl) and resumes at
# task boundaries: run the same command again after an interruption. Settings common to all runs
# (one source: this file): 1 epoch, effective batch 8, 256-token examples, 3 warm-up steps, cosine
# schedule, seed 42, LoRA rank 8 / alpha 16 on q and v, OSFT on every linear projection, 2 threads.
set -euo pipefail
root="${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}"  # ROOT: when a copy of this script runs
sculpt="${SCULPT:-$root/build/sculpt}"
work="${WORK:-$root/runs/smollm2-cl}"
model="${MODEL:-$root/models/SmolLM2-135M-Instruct.Q4_1-hf}"
gguf="${GGUF:-$root/models/SmolLM2-135M-Instruct.Q4_1.gguf}"
bench="${BENCHMARK:-$root/../shared/data/cl_benchmark}"
general="${GENERAL:-$root/../shared/data/general-text/sotu}"
phase="${1:-status}"

[ -x "$sculpt" ] || { echo "error: $sculpt is missing; hint: bash scripts/setup.sh" >&2; exit 1; }
[ -f "$model/config.json" ] ||
  { echo "error: $model is missing; hint: bash scripts/reference-env.sh && bash scripts/get-models.sh --hf smollm2" >&2; exit 1; }
[ -d "$bench" ] || { echo "error: $bench is missing (the CL_Benchmark data of ../shared/data)" >&2; exit 1; }

common=(--max-seq-len 256 --num-epochs 1 --effective-batch-size 8 --warmup-steps 3
        --seed 42 --logging-steps 5 --threads "${THREADS:-2}" --lora-rank 8 --lora-alpha 16)

# variant -> sculpt cl flags; the order is the order runs start (the goals' comparisons first; the
# paper's adaptive ranks moved ahead of O-LoRA's last rate when the search was half done).
variants=(osft-schedule seqft osft-adaptive olora mtl seqlora inclora ewc replay)
flags_of() {
  case "$1" in
    osft-schedule) echo "--methods osft --rank-policy schedule" ;;
    osft-adaptive) echo "--methods osft --rank-policy adaptive" ;;
    *) echo "--methods $1" ;;
  esac
}
rates_of() {
  case "$1" in
    seqlora|inclora|olora) echo "1e-4 3e-4 1e-3 3e-3" ;;
    *) echo "1e-5 3e-5 1e-4 3e-4" ;;
  esac
}

results="$root/docs/results/smollm2-135m"

# The final phase: which orders each method runs.
orders_of() {
  case "$1" in
    osft-schedule|osft-adaptive|olora|seqft|mtl) echo "order1 order2 order3" ;;
    *) echo "order1" ;;
  esac
}

# A run is done when its results (in $work, or committed under docs/results) say complete.
done_dir() {  # done_dir PHASE NAME: the directory holding the finished run's results.json, or nothing
  for d in "$work/$1/$2" "$results/$1/$2"; do
    [ -f "$d/results.json" ] && summary "$d" | grep -q '^complete' && { echo "$d"; return; }
  done
  true
}

summary() {  # summary DIR: "complete|partial AA x BWT y" from results.json, or "not finished"
  local r="$1/results.json"
  [ -f "$r" ] || { echo "not finished"; return; }
  python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
for name, m in r["methods"].items():
    aa, bwt = m.get("average_accuracy"), m.get("backward_transfer")
    f = lambda v: "-" if v is None else "%.1f" % (100 * v)
    print(("complete" if m.get("complete") else "partial") + " AA " + f(aa) + " BWT " + f(bwt))' "$r"
}

# best_rate VARIANT: the searched rate with the highest AA (the smaller on a tie), once all of the
# variant's search runs are complete; nothing while any is missing.
best_rate() {
  local best="" best_aa=-1 lr d aa
  for lr in $(rates_of "$1"); do
    d="$(done_dir search "$1-lr$lr")"
    [ -n "$d" ] || return 0
    aa="$(summary "$d" | awk '{print $3}')"
    if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$aa" "$best_aa"; then
      best="$lr" best_aa="$aa"
    fi
  done
  echo "$best"
}

# prune_run DIR: a finished run keeps its results, reports, metrics and logs; its stage models,
# checkpoints and strategy tensors (0.5-3 GB a run) go.
prune_run() {
  find "$1" -name '*.safetensors' -delete
  find "$1" -type d -empty -delete
}

case "$phase" in
  final)
    [ -e "$gguf" ] || { echo "error: $gguf is missing; hint: bash scripts/get-models.sh smollm2" >&2; exit 1; }
    [ -d "$general" ] || { echo "error: $general is missing (../shared/data/general-text)" >&2; exit 1; }
    mkdir -p "$work/final"
    for order in order1 order2 order3; do
      for v in "${variants[@]}"; do
        case " $(orders_of "$v") " in *" $order "*) ;; *) continue ;; esac
        out="$work/final/$order/$v"
        [ -n "$(done_dir final "$order/$v")" ] && continue
        lr="$(best_rate "$v")"
        if [ -z "$lr" ]; then echo "final: $v waits for its search to finish"; continue; fi
        echo "final: $v at learning rate $lr, $order -> $out ($(date -u +%H:%M))"
        [ -n "${DRY_RUN:-}" ] && continue
        mkdir -p "$work/final/$order"
        # shellcheck disable=SC2046
        "$sculpt" cl "${common[@]}" --model "$gguf" $(flags_of "$v") --benchmark "$bench" --order "$order" \
          --max-train-samples 200 --max-test-samples 200 --learning-rate "$lr" \
          --general-eval "$general" --general-eval-samples 32 --output-dir "$out" \
          > "$out.log" 2>&1 || { echo "final: $v $order failed; see $out.log" >&2; exit 1; }
        prune_run "$out"
      done
    done ;;
  prune)
    for r in "$work"/search/*/ "$work"/final/*/*/; do
      [ -f "$r/results.json" ] && summary "$r" | grep -q '^complete' && prune_run "$r" && echo "pruned $r"
    done
    true ;;
  search)
    dev="$work/search-benchmark"
    mkdir -p "$work/search"
    [ -f "$dev/task_orders.json" ] || python3 "$root/bench/cl_dev_split.py" "$bench" "$dev" 200 100
    for v in "${variants[@]}"; do
      for lr in $(rates_of "$v"); do
        out="$work/search/$v-lr$lr"
        [ -n "$(done_dir search "$v-lr$lr")" ] && continue
        echo "search: $v at learning rate $lr -> $out ($(date -u +%H:%M))"
        # shellcheck disable=SC2046
        "$sculpt" cl "${common[@]}" --model "$model" $(flags_of "$v") --benchmark "$dev" --tasks dbpedia amazon \
          --max-train-samples 200 --max-test-samples 100 --learning-rate "$lr" --output-dir "$out" \
          > "$out.log" 2>&1 || { echo "search: $v at $lr failed; see $out.log" >&2; exit 1; }
      done
    done ;;
  status)
    for v in "${variants[@]}"; do
      for lr in $(rates_of "$v"); do
        d="$(done_dir search "$v-lr$lr")"
        printf '%-16s %-6s %s\n' "$v" "$lr" "$(summary "${d:-$work/search/$v-lr$lr}")"
      done
    done
    for order in order1 order2 order3; do
      for v in "${variants[@]}"; do
        case " $(orders_of "$v") " in *" $order "*) ;; *) continue ;; esac
        d="$(done_dir final "$order/$v")"
        printf 'final %-6s %-16s %-6s %s\n' "$order" "$v" "$(best_rate "$v")" "$(summary "${d:-$work/final/$order/$v}")"
      done
    done ;;
  collect)
    for v in "${variants[@]}"; do
      for lr in $(rates_of "$v"); do
        src="$work/search/$v-lr$lr"
        [ -f "$src/results.json" ] && summary "$src" | grep -q '^complete' || continue
        dst="$results/search/$v-lr$lr"
        mkdir -p "$dst"
        cp "$src/results.json" "$src/report.md" "$dst/"
        for csv in "$src"/*/accuracy_matrix.csv; do cp "$csv" "$dst/$(basename "$(dirname "$csv")")-accuracy_matrix.csv"; done
        echo "collected $dst"
      done
    done
    for src in "$work"/final/*/*/; do
      src="${src%/}"
      [ -f "$src/results.json" ] && summary "$src" | grep -q '^complete' || continue
      dst="$results/final/$(basename "$(dirname "$src")")/$(basename "$src")"
      mkdir -p "$dst"
      cp "$src/results.json" "$src/report.md" "$dst/"
      for csv in "$src"/*/accuracy_matrix.csv; do cp "$csv" "$dst/$(basename "$(dirname "$csv")")-accuracy_matrix.csv"; done
      echo "collected $dst"
    done ;;
  *) echo "error: unknown phase '$phase'; usage: bench/smollm2_cl.sh search|final|status|collect|prune" >&2; exit 2 ;;
esac
