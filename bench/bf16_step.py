#!/usr/bin/env python3
"""bf16 against fp32 precision on SmolLM2-135M-Instruct's training step (issue 23, point 5):
bench_train_step --precision fp32 and bf16 on the real model, plain fine-tuning and OSFT (update
mode, u = 0.25), each configuration's two precisions run back to back in every round; the ratio is
the median over rounds of bf16 / fp32 step medians. With --curve, the section also reports
bench/bf16_curve.py's 200-step comparison (loss curve, leak, peaks). Nothing else may run while it
times.
   python3 bench/bf16_step.py --build build [--rounds 2] [--curve curve.json] [--update BENCHMARKS.md]
   python3 bench/bf16_step.py --from-json result.json [--curve curve.json] --update BENCHMARKS.md"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peft_osf import cpu_name, update_section  # noqa: E402  (the bench scripts' shared helpers)

TITLE = "## bf16 precision: SmolLM2-135M training step"
CONFIGS = [("plain", 2, 256), ("plain", 8, 256), ("osft-update", 8, 256)]  # method, sequences, tokens


def measure(a):
    exe = os.path.join(a.build, "bench", "bench_train_step")
    model = a.model
    if not os.path.isfile(model):
        sys.exit(f"bf16_step: no {model}; hint: scripts/fetch-models.sh")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    runs = {f"{m} {b}x{t}": {"fp32": [], "bf16": []} for m, b, t in CONFIGS}
    for _ in range(a.rounds):
        for method, batch, seq in CONFIGS:
            for precision in ("fp32", "bf16"):
                out = subprocess.run([exe, "--model", model, "--method", method, "--u", "0.25", "--batch", str(batch),
                                      "--seq", str(seq), "--steps", str(a.steps), "--warmup", "1", "--precision",
                                      precision], env=env, check=True, capture_output=True, text=True).stdout
                runs[f"{method} {batch}x{seq}"][precision].append(json.loads(out.strip().split("\n")[-1]))
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"runs": runs, "cpu": cpu_name(), "commit": commit, "rounds": a.rounds, "steps": a.steps,
            "threads": a.threads, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def section(res, curve):
    lines = [TITLE, "",
             f"`bench/bf16_step.py` on {res['date']} at commit `{res['commit']}`, {res['cpu']}, {res['threads']} "
             f"threads: `bench_train_step --model SmolLM2-135M-Instruct.Q4_1.gguf` (dequantised to fp32 masters), "
             f"{res['steps']} timed steps after one warm-up per run, fp32 and bf16 back to back in each of "
             f"{res['rounds']} rounds. bf16: the products of every projection and the tied head take bf16 "
             "operands through oneDNN (weights rounded once per step, activations and their gradients before "
             "each product) and accumulate in fp32; everything else, the gradients, AdamW and OSFT stay fp32. "
             "Peak is the process's resident peak (weights, gradients, moments, OSFT state, graph).", "",
             "| configuration | fp32 step | bf16 step | bf16 / fp32 | fp32 peak | bf16 peak |", "|---|---|---|---|---|---|"]
    for name, r in res["runs"].items():
        f = [x["median_ms"] for x in r["fp32"]]
        b = [x["median_ms"] for x in r["bf16"]]
        ratio = statistics.median(y / x for x, y in zip(f, b))
        pf = max(x["peak_rss_kib"] for x in r["fp32"]) / 1024
        pb = max(x["peak_rss_kib"] for x in r["bf16"]) / 1024
        lines.append(f"| {name} tokens | {statistics.median(f):.0f} ms | {statistics.median(b):.0f} ms | "
                     f"{ratio:.3f} | {pf:.0f} MiB | {pb:.0f} MiB |")
    lines += ["", "The bf16 weight copies add 257 MiB; the saved activations are still fp32 (the next step of the "
              "issue stores the products' inputs in bf16)."]
    if curve:
        leak = curve["leak_last_logged"]
        lines += ["", f"200 steps of OSFT (update mode, u = 0.25, dbpedia, 4 × ≤ 128 tokens, lr 1e-4, seed 42) per "
                  f"precision, `bench/bf16_curve.sh` at commit `{curve.get('commit', '?')}`: the bf16 loss differs "
                  f"from the fp32 loss at the same step by {100 * curve['loss_rel_diff_mean']:.2f} % on average and "
                  f"{100 * curve['loss_rel_diff_max']:.2f} % at most ({100 * curve['loss_rel_diff_max_10step_avg']:.2f} % "
                  f"at most between 10-step moving averages); final loss {curve['final_loss']['fp32']:.4f} (fp32) vs "
                  f"{curve['final_loss']['bf16']:.4f} (bf16). OSFT's leak into the protected subspace, measured on the "
                  f"fp32 masters at step {leak['bf16']['step']}: leak_u {leak['bf16']['leak_u']:.2e}, leak_v "
                  f"{leak['bf16']['leak_v']:.2e} in bf16 ({leak['fp32']['leak_u']:.2e}, {leak['fp32']['leak_v']:.2e} "
                  f"in fp32). Peaks against plans: fp32 {curve['peak_mib_and_plan']['fp32'][0]} of "
                  f"{curve['peak_mib_and_plan']['fp32'][1]} MiB, bf16 {curve['peak_mib_and_plan']['bf16'][0]} of "
                  f"{curve['peak_mib_and_plan']['bf16'][1]} MiB."]
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--model", default=os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--curve", help="bench/bf16_curve.py's JSON output")
    p.add_argument("--update", help="markdown file whose bf16-precision section to rewrite (BENCHMARKS.md)")
    p.add_argument("--from-json", help="render a saved result instead of measuring")
    a = p.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            res = json.load(f)
    else:
        res = measure(a)
    print(json.dumps(res))
    curve = None
    if a.curve:
        with open(a.curve) as f:
            curve = json.load(f)
    if a.update:
        update_section(a.update, section(res, curve))
        print("wrote", a.update, file=sys.stderr)


if __name__ == "__main__":
    main()
