"""Compares the fp32 and bf16 runs of bench/bf16_curve.sh: per-step relative loss difference
(max, mean, and of the 10-step moving averages), the held-out loss at every evaluation (each
run's own precision; step 0 is the same weights, so its difference is bf16's forward alone),
the same distances between the fp32 run and fp32-alt (fp32 on OpenBLAS's other kernels: the
floor any change of rounding meets) when that run is there,
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
    log_path = os.path.join(work, precision + ".log")
    log = open(log_path).read() if os.path.exists(log_path) else ""
    peaks = re.findall(r"peak resident memory ([\d.]+) MiB \(planned ([\d.]+) MiB", log)
    return [rows[s] for s in sorted(rows)], peaks[-1] if peaks else None, evals


def moving(xs, n=10):
    return [statistics.fmean(xs[max(0, i - n + 1):i + 1]) for i in range(len(xs))]


def distances(a, a_evals, b, b_evals):
    """How far run b's curves are from run a's: per-step and 10-step-average relative loss
    difference, and the held-out loss at each evaluation both ran."""
    eval_steps = sorted(set(a_evals) & set(b_evals))
    held_out = [{"step": s, "a": a_evals[s]["eval_loss"], "b": b_evals[s]["eval_loss"],
                 "rel_diff": abs(b_evals[s]["eval_loss"] - a_evals[s]["eval_loss"]) / a_evals[s]["eval_loss"],
                 "exact_match": {"a": a_evals[s].get("eval_exact_match"),
                                 "b": b_evals[s].get("eval_exact_match")}} for s in eval_steps]
    steps = min(len(a), len(b))
    la = [r["loss"] for r in a[:steps]]
    lb = [r["loss"] for r in b[:steps]]
    rel = [abs(y - x) / x for x, y in zip(la, lb)]
    rel_avg = [abs(y - x) / x for x, y in zip(moving(la), moving(lb))]
    means = {f"{lo + 1}-{hi}": {"a": statistics.fmean(la[lo:hi]), "b": statistics.fmean(lb[lo:hi])}
             for lo, hi in ((0, 50), (50, 100), (100, 150), (150, 200), (0, steps)) if hi <= steps}
    return {
        "steps": steps,
        "loss_rel_diff_max": max(rel),
        "loss_rel_diff_mean": statistics.fmean(rel),
        "loss_rel_diff_max_10step_avg": max(rel_avg),
        "mean_loss_by_50_steps": means,
        "final_loss": {"a": la[-1], "b": lb[-1]},
        "held_out_loss": held_out,
        "held_out_rel_diff_max": max((h["rel_diff"] for h in held_out), default=None),
    }


fp32, fp32_peak, fp32_evals = load("fp32")
bf16, bf16_peak, bf16_evals = load("bf16")


def last_leak(rows):
    logged = [r for r in rows if "leak_u" in r]
    return {k: logged[-1][k] for k in ("step", "leak_u", "leak_v")} if logged else None


def step_ms(rows):
    # tok/s of each step → its time; the first 3 steps (warm-up of buffers and primitives) left out
    return statistics.median(1000 * r["tokens"] / r["tok_per_s"] for r in rows[3:])


commit_file = os.path.join(work, "commit")
out = {
    "commit": open(commit_file).read().strip() if os.path.exists(commit_file) else None,
    "bf16_vs_fp32": distances(fp32, fp32_evals, bf16, bf16_evals),  # a = fp32, b = bf16
    "leak_last_logged": {"fp32": last_leak(fp32), "bf16": last_leak(bf16)},
    "step_ms_median": {"fp32": step_ms(fp32), "bf16": step_ms(bf16)},
    "step_ratio_bf16_over_fp32": step_ms(bf16) / step_ms(fp32),
    "peak_mib_and_plan": {"fp32": fp32_peak, "bf16": bf16_peak},
}
if os.path.exists(os.path.join(work, "fp32-alt", "metrics.jsonl")):
    alt, alt_peak, alt_evals = load("fp32-alt")
    out["fp32_alt_vs_fp32"] = distances(fp32, fp32_evals, alt, alt_evals)  # a = fp32, b = fp32-alt
    out["leak_last_logged"]["fp32-alt"] = last_leak(alt)
print(json.dumps(out, indent=2))
