#!/usr/bin/env bash
# The built-in demo over several seeds on this machine's CPU, as a table: what a new user sees.
#   bash bench/demo_seeds.sh [SEEDS...]          # default seeds 0 1 2 3 4 5; ~50 s each on 2 cores
# Resumable: a seed whose results.json exists is not run again (runs/demo-seeds/seed-S). The demo's
# numbers depend on the CPU's kernel path (AVX-512 / AVX2 / baseline clones round differently, and
# 30 epochs of training amplify it), so the README quotes ranges over the CPUs measured.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sculpt="${SCULPT:-$root/build/sculpt}"
out="${OUT:-$root/runs/demo-seeds}"
seeds=("$@"); ((${#seeds[@]})) || seeds=(0 1 2 3 4 5)
mkdir -p "$out"
for s in "${seeds[@]}"; do
  [ -f "$out/seed-$s/experiment/results.json" ] && continue
  echo "demo seed $s ..." >&2
  "$sculpt" -q demo --seed "$s" -o "$out/seed-$s" >"$out/seed-$s.log" 2>&1
done
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
python3 - "$out" "$cpu" "${seeds[@]}" <<'PY'
import json, sys
out, cpu, seeds = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"CPU: {cpu}\n")
print("| seed | AA seqft / OSFT | BWT seqft / OSFT | held-out ppl seqft / OSFT (base) |")
print("|---|---|---|---|")
for s in seeds:
    r = json.load(open(f"{out}/seed-{s}/experiment/results.json"))
    m = r["methods"]
    ppl = lambda k: m[k]["rows"][-1].get("general_perplexity", float("nan"))
    print(f"| {s} | {100*m['seqft']['average_accuracy']:.1f} / {100*m['osft']['average_accuracy']:.1f} "
          f"| {100*m['seqft']['backward_transfer']:.1f} / {100*m['osft']['backward_transfer']:.1f} "
          f"| {ppl('seqft'):.1f} / {ppl('osft'):.2f} ({r['base'].get('general_perplexity', float('nan')):.2f}) |")
PY
