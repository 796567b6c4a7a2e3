"""Compares the fp32 and bf16 runs of bench/bf16_curve.sh: per-step relative loss difference
(max, mean, and of the 10-step moving averages), the held-out loss at every evaluation (each
run's own precision; step 0 is the same weights, so its difference is bf16's forward alone),
OSFT's logged leak (leak_u, leak_v: drift into
the protected subspace, relative) at the last logged step, median step time and the peak
resident memory each run logged. Prints one JSON object.
   python3 bench/bf16_curve.py WORK_DIR"""
import json
import os
import re
import statistics
import sys

work = sys.argv[1]


def load(precision):
    rows, evals = {}, {}
    with open(os.path.join(work, precision, "metrics.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            if "loss" in m:
                rows[m["step"]] = m  # a resumed run rewrites its steps: the last line wins
            if "eval_loss" in m:
                evals[m["step"]] = m
    log = open(os.path.join(work, precision + ".log")).read()
    peaks = re.findall(r"peak resident memory ([\d.]+) MiB \(planned ([\d.]+) MiB", log)
    return [rows[s] for s in sorted(rows)], peaks[-1] if peaks else None, evals


def moving(xs, n=10):
    return [statistics.fmean(xs[max(0, i - n + 1):i + 1]) for i in range(len(xs))]


fp32, fp32_peak, fp32_evals = load("fp32")
bf16, bf16_peak, bf16_evals = load("bf16")
eval_steps = sorted(set(fp32_evals) & set(bf16_evals))
held_out = [{"step": s, "fp32": fp32_evals[s]["eval_loss"], "bf16": bf16_evals[s]["eval_loss"],
             "rel_diff": abs(bf16_evals[s]["eval_loss"] - fp32_evals[s]["eval_loss"]) / fp32_evals[s]["eval_loss"],
             "exact_match": {"fp32": fp32_evals[s].get("eval_exact_match"),
                             "bf16": bf16_evals[s].get("eval_exact_match")}} for s in eval_steps]
steps = min(len(fp32), len(bf16))
lf = [r["loss"] for r in fp32[:steps]]
lb = [r["loss"] for r in bf16[:steps]]
rel = [abs(b - f) / f for f, b in zip(lf, lb)]
mf, mb = moving(lf), moving(lb)
rel_avg = [abs(b - f) / f for f, b in zip(mf, mb)]


def last_leak(rows):
    logged = [r for r in rows if "leak_u" in r]
    return {k: logged[-1][k] for k in ("step", "leak_u", "leak_v")} if logged else None


def step_ms(rows):
    # tok/s of each step → its time; the first 3 steps (warm-up of buffers and primitives) left out
    return statistics.median(1000 * r["tokens"] / r["tok_per_s"] for r in rows[3:])


commit_file = os.path.join(work, "commit")
out = {
    "commit": open(commit_file).read().strip() if os.path.exists(commit_file) else None,
    "steps": steps,
    "loss_rel_diff_max": max(rel),
    "loss_rel_diff_mean": statistics.fmean(rel),
    "loss_rel_diff_max_10step_avg": max(rel_avg),
    "final_loss": {"fp32": lf[-1], "bf16": lb[-1]},
    "held_out_loss": held_out,
    "held_out_rel_diff_max": max((h["rel_diff"] for h in held_out), default=None),
    "leak_last_logged": {"fp32": last_leak(fp32), "bf16": last_leak(bf16)},
    "step_ms_median": {"fp32": step_ms(fp32), "bf16": step_ms(bf16)},
    "step_ratio_bf16_over_fp32": step_ms(bf16) / step_ms(fp32),
    "peak_mib_and_plan": {"fp32": fp32_peak, "bf16": bf16_peak},
}
print(json.dumps(out, indent=2))
