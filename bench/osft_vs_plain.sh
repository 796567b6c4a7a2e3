#!/usr/bin/env bash
# OSFT's cost on the reference config (hidden 256, 4 layers, SwiGLU 688, vocab 4096, batch 8×128),
# measured in one run: step time of OSFT update / gradient mode against plain fine-tuning, the SVD
# of all targets against torch.linalg.svd on the same shapes, and peak RSS of OSFT vs plain.
#   bash bench/osft_vs_plain.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build} steps=${2:-10}
bin=$build/bench/bench_train_step
rss() { /usr/bin/time -f "%M" "$@" 2>&1 >/dev/null | tail -1; }  # peak RSS in KiB
json() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
# The machine's speed drifts by ±15 % over minutes: interleave the variants, three rounds, and
# keep each variant's fastest median.
best() {  # JSON lines on stdin → the one with the smallest median_ms
  python3 -c "import json,sys; r=[json.loads(l) for l in sys.stdin if l.strip()]; print(json.dumps(min(r, key=lambda x: x['median_ms'])))"
}
declare -A runs
for round in 1 2 3; do
  for variant in plain osft-update osft-gradient osft-factored; do
    if [ "$variant" = plain ]; then out=$(OMP_NUM_THREADS=2 "$bin" "$steps"); else out=$(OMP_NUM_THREADS=2 "$bin" "$steps" "$variant" 0.25 2>/dev/null); fi
    runs[$variant]+="$out"$'\n'
  done
done
plain=$(printf '%s' "${runs[plain]}" | best)
update=$(printf '%s' "${runs[osft-update]}" | best)
gradient=$(printf '%s' "${runs[osft-gradient]}" | best)
factored=$(printf '%s' "${runs[osft-factored]}" | best)
torch_svd=$(OMP_NUM_THREADS=2 /usr/bin/python3 bench/torch_svd.py)
rss_plain=$(OMP_NUM_THREADS=2 rss "$bin" 3)
rss_osft=$(OMP_NUM_THREADS=2 rss "$bin" 3 osft-update 0.25)
echo "plain fine-tuning:      $plain"
echo "OSFT update (u=0.25):   $update"
echo "OSFT gradient (u=0.25): $gradient"
echo "OSFT factored (u=0.25): $factored"
echo "torch.linalg.svd:       $torch_svd"
python3 - "$(json "$plain" median_ms)" "$(json "$update" median_ms)" "$(json "$gradient" median_ms)" \
  "$(json "$factored" median_ms)" \
  "$(json "$update" svd_ms)" "$(json "$torch_svd" svd_ms)" "$rss_plain" "$rss_osft" <<'PY'
import sys
p, u, g, f, s, t, rp, ro = map(float, sys.argv[1:])
print("| figure | value | target |")
print("|---|---|---|")
print(f"| OSFT update step / plain step | {u/p:.3f} ({u:.1f} / {p:.1f} ms) | <= 1.15 |")
print(f"| OSFT gradient step / plain step | {g/p:.3f} ({g:.1f} / {p:.1f} ms) | - |")
print(f"| OSFT factored step / plain step | {f/p:.3f} ({f:.1f} / {p:.1f} ms) | - |")
print(f"| SVD of all 28 targets, sculpt / torch.linalg.svd | {s/t:.3f} ({s:.1f} / {t:.1f} ms) | <= 1.0 |")
print(f"| peak RSS, OSFT / plain | {ro/rp:.3f} ({ro/1024:.0f} / {rp/1024:.0f} MiB) | <= 1.3 |")
PY
