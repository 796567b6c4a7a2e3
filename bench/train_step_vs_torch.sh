#!/usr/bin/env bash
# One training step of the reference config, sculpt and the PyTorch twin side by side in one run.
# PyTorch is timed in several threading set-ups and its fastest is the baseline.
#   bash bench/train_step_vs_torch.sh [BUILD_DIR] [STEPS]
set -euo pipefail
build=${1:-build} steps=${2:-10}
[ -x "$build/bench/bench_train_step" ] || { echo "build first: cmake --build $build"; exit 1; }
sculpt=$(OMP_NUM_THREADS=2 "$build/bench/bench_train_step" "$steps")
echo "sculpt (2 OpenMP threads):                 $sculpt"
best=""
best_ms=1e18
for setup in "1 2" "2 1" "2 2" "1 1"; do
  read -r torch_threads blas_threads <<< "$setup"
  r=$(OMP_NUM_THREADS=$torch_threads OPENBLAS_NUM_THREADS=$blas_threads /usr/bin/python3 bench/torch_train_step.py \
        --steps "$steps" --threads "$torch_threads")
  echo "pytorch (torch $torch_threads thread(s), OpenBLAS $blas_threads): $r"
  ms=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['median_ms'])" "$r")
  if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$ms" "$best_ms"; then
    best_ms=$ms best="torch $torch_threads / OpenBLAS $blas_threads"
  fi
done
sculpt_ms=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['median_ms'])" "$sculpt")
python3 -c "import sys; s,t=float(sys.argv[1]),float(sys.argv[2]); print(f'ratio sculpt/pytorch = {s/t:.3f}  (sculpt {s:.1f} ms, fastest pytorch {t:.1f} ms [{sys.argv[3]}]; target <= 0.67)')" \
  "$sculpt_ms" "$best_ms" "$best"
