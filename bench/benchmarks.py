#!/usr/bin/python3
"""Runs every benchmark of the performance issue side by side in one go and writes BENCHMARKS.md
(bench/run builds first and then calls this). Each figure is the median of --rounds repeated
process runs with their min–max; the variants are interleaved round by round so that the
machine's drift over minutes hits all of them alike. PyTorch (Debian's python3-torch) is timed
in several threading set-ups and its fastest is the baseline.
PyTorch 2.x from the reference environment is timed beside it (eager, torch.compile, bf16 autocast),
and sculpt's OSFT is run against PEFT's OSF (bench/peft_osf.py).
   /usr/bin/python3 bench/benchmarks.py --build build-bench [--rounds 5] [--output BENCHMARKS.md]"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
TORCH_SETUPS = [(1, 1), (1, 2), (2, 1), (2, 2)]  # (torch threads, OpenBLAS threads)
# Today's PyTorch from the reference environment (scripts/reference-env.sh): its own BLAS, so only
# torch's threads vary; torch.compile and bf16 autocast as further set-ups (bf16 reported apart).
REF_PY = os.path.join(ROOT, ".reference-env", "bin", "python")
MODERN_SETUPS = {"eager 1": (1, []), "eager 2": (2, []), "compile 2": (2, ["--compile"]),
                 "bf16 eager 2": (2, ["--bf16"]), "bf16 compile 2": (2, ["--compile", "--bf16"])}

p = argparse.ArgumentParser()
p.add_argument("--build", default="build-bench")
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--output", default=os.path.join(ROOT, "BENCHMARKS.md"))
p.add_argument("--figures", default=os.path.join(ROOT, "docs", "bench"))
a = p.parse_args()
build = os.path.abspath(a.build)


def log(*msg):
    print("bench:", *msg, file=sys.stderr, flush=True)


def run_json(cmd, env=None):
    e = dict(os.environ, **(env or {}))
    out = subprocess.run(cmd, env=e, cwd=BENCH, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def sculpt_step(*args, steps=None):
    return run_json([os.path.join(build, "bench", "bench_train_step"), "--steps", str(steps or a.steps), *args],
                    {"OMP_NUM_THREADS": "2"})


def torch_step(setup, *args, steps=None):
    t, b = setup
    return run_json(["/usr/bin/python3", "torch_train_step.py", "--steps", str(steps or a.steps), "--threads", str(t),
                     *args], {"OMP_NUM_THREADS": str(t), "OPENBLAS_NUM_THREADS": str(b)})


def modern_step(name, steps=None):
    t, flags = MODERN_SETUPS[name]
    return run_json([REF_PY, "torch_train_step.py", "--steps", str(steps or a.steps), "--threads", str(t), *flags],
                    {"OMP_NUM_THREADS": str(t)})


class Figure:
    """Values of one quantity over the rounds: median and min–max."""

    def __init__(self):
        self.values = []

    def add(self, v):
        self.values.append(float(v))

    @property
    def median(self):
        return statistics.median(self.values)

    def text(self, fmt="{:.1f}", unit=""):
        return f"{fmt.format(self.median)}{unit} ({fmt.format(min(self.values))}–{fmt.format(max(self.values))})"


def figures():
    from collections import defaultdict
    return defaultdict(Figure)


# --- 1. training step, OSFT variants, SVD and RSS, interleaved over rounds ----------------------
step_ms, svd_ms, rss = figures(), figures(), figures()
# The roofline (every GEMM of the step re-timed alone, ~1.5 s) rides along in each round's plain and
# OSFT update runs, so that each fraction divides two timings of the same process and spell.
roof_ms, roof_fraction, roof_gflop = figures(), figures(), {}
for r in range(a.rounds):
    log(f"training steps, round {r + 1} of {a.rounds}")
    for method in ("plain", "osft-update", "osft-gradient", "osft-factored"):
        roofline = ("--roofline",) if method in ("plain", "osft-update") else ()
        out = sculpt_step("--method", method, "--u", "0.25", *roofline)
        step_ms[method].add(out["median_ms"])
        if roofline:
            roof_ms[method].add(out["roofline_ms"])
            roof_fraction[method].add(out["roofline_fraction"])
            roof_gflop[method] = (out["gemm_gflop"], out["gemm_shapes"])
        rss[method].add(out["peak_rss_kib"] / 1024)
        if method == "osft-update":
            svd_ms["sculpt"].add(out["svd_ms"])
    for setup in TORCH_SETUPS:
        out = torch_step(setup)
        step_ms[f"torch {setup[0]}/{setup[1]}"].add(out["median_ms"])
        rss["torch"].add(out["peak_rss_kib"] / 1024)
    svd_ms["torch"].add(run_json(["/usr/bin/python3", "torch_svd.py"], {"OMP_NUM_THREADS": "2"})["svd_ms"])
    for name in MODERN_SETUPS:
        out = modern_step(name)
        step_ms[f"torch2 {name}"].add(out["median_ms"])
        rss["torch2"].add(out["peak_rss_kib"] / 1024)
        modern_version = out["torch"]
torch_best = min(TORCH_SETUPS, key=lambda s: step_ms[f"torch {s[0]}/{s[1]}"].median)
torch_key = f"torch {torch_best[0]}/{torch_best[1]}"
modern_key = min((f"torch2 {n}" for n in MODERN_SETUPS if "bf16" not in n), key=lambda k: step_ms[k].median)
modern_bf16_key = min((f"torch2 {n}" for n in MODERN_SETUPS if "bf16" in n), key=lambda k: step_ms[k].median)

# --- 1b. sculpt's OSFT update mode against PEFT's OSFConfig (same model, data, targets, rank) ---
log("OSFT against PEFT's OSF (bench/peft_osf.py)")
peft_osf = run_json([REF_PY, "peft_osf.py", "--sculpt", os.path.join(build, "sculpt"), "--steps", "20", "--threads", "2",
                     "--rounds", "5"])


def paired(numerator, denominator):
    """Per-round ratios of two figures measured in the same round (seconds to a minute apart), so
    that a slow spell of this shared VM, which lasts longer than that, divides out."""
    f = Figure()
    for x, y in zip(numerator.values, denominator.values):
        f.add(x / y)
    return f


# --- 2. forward and decoding ---------------------------------------------------------------------
log("forward and decoding")
gb = subprocess.run([os.path.join(build, "bench", "bench_forward"), f"--benchmark_repetitions={a.rounds}",
                     "--benchmark_format=json"], env=dict(os.environ, OMP_NUM_THREADS="2"), check=True,
                    capture_output=True, text=True).stdout
decode = figures()
for b in json.loads(gb)["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    name = b["run_name"].split("/")[0]
    decode[name].add(b.get("new tok/s", b.get("tok/s", 0)))
for r in range(a.rounds):
    for t in (1, 2):
        out = run_json(["/usr/bin/python3", "torch_decode.py", "--threads", str(t), "--repeats", "3"],
                       {"OMP_NUM_THREADS": str(t)})
        decode[f"torch {t}"].add(out["median_tok_s"])
torch_decode_key = max(("torch 1", "torch 2"), key=lambda k: decode[k].median)
gemm = subprocess.run([os.path.join(build, "bench", "bench_gemm"), "--benchmark_filter=BM_Peak",
                       "--benchmark_format=json"], env=dict(os.environ, OMP_NUM_THREADS="2"), check=True,
                      capture_output=True, text=True).stdout
peak_gflops = [b for b in json.loads(gemm)["benchmarks"] if b["name"].startswith("BM_Peak")][0]["GFLOP/s"]

# --- 3. scaling: step time against tokens per batch and against hidden size ----------------------
os.makedirs(a.figures, exist_ok=True)
scaling = {"tokens": [], "hidden": []}
for seq in (64, 128, 256, 512, 1024):
    log(f"scaling: 8 × {seq} tokens")
    args = ("--batch", "8", "--seq", str(seq))
    scaling["tokens"].append({"tokens_per_batch": 8 * seq, "sculpt_ms": sculpt_step(*args, steps=3)["median_ms"],
                              "pytorch_ms": torch_step(torch_best, *args, steps=3)["median_ms"]})
for hidden in (128, 256, 512, 1024):
    log(f"scaling: hidden {hidden}")
    ffn = int(round(hidden * 688 / 256))
    args = ("--hidden", str(hidden), "--ffn", str(ffn), "--heads", str(max(1, hidden // 64)))
    scaling["hidden"].append({"hidden_size": hidden, "sculpt_ms": sculpt_step(*args, steps=3)["median_ms"],
                              "pytorch_ms": torch_step(torch_best, *args, steps=3)["median_ms"]})
for axis, x in (("tokens", "tokens_per_batch"), ("hidden", "hidden_size")):
    path = os.path.join(a.figures, f"scaling_{axis}.jsonl")
    with open(path, "w") as f:
        for row in scaling[axis]:
            f.write(json.dumps(row) + "\n")
    subprocess.run([os.path.join(build, "sculpt"), "-q", "plot", path, "--x", x, "--y", "sculpt_ms", "--y",
                    "pytorch_ms", "--title", f"training step time (ms) against {x.replace('_', ' ')}",
                    "--output", path.replace(".jsonl", ".svg")], check=True)


# --- 4. profile: where the plain step's time goes (perf sampling, the real binary, 2 threads) -----
# (callgrind counts instructions deterministically but runs the step ~100x slower and its
# instruction shares are not time shares; perf samples the timed binary as it is.)
log("profile (perf record)")
profile_rows, profile_groups = [], {}
perf_out = os.path.join(a.figures, "perf.data")
try:
    subprocess.run(["perf", "record", "-F", "1999", "-o", perf_out, "--", os.path.join(build, "bench", "bench_train_step"),
                    "--steps", str(a.steps)], env=dict(os.environ, OMP_NUM_THREADS="2"), check=True,
                   capture_output=True)
    rep = subprocess.run(["perf", "report", "-i", perf_out, "--stdio", "--no-children", "--sort", "dso,symbol",
                          "--percent-limit", "0.01"], check=True, capture_output=True, text=True).stdout
    for line in rep.splitlines():
        parts = line.split()
        if len(parts) < 4 or line.lstrip().startswith("#") or not parts[0].endswith("%"):
            continue
        while parts[-1] == "-":  # perf's empty source-line columns
            parts.pop()
        pct, dso, sym = float(parts[0].rstrip("%")), parts[1], " ".join(parts[3:])
        profile_rows.append((pct, dso, sym))
        group = ("sgemm (OpenBLAS)" if "openblas" in dso else
                 "threads waiting (OpenMP barriers, sched_yield)" if "gomp" in dso or dso == "[kernel.kallsyms]"
                 or "sched_yield" in sym else
                 "sculpt's own kernels" if dso == "bench_train_step" else
                 "libm (exp, ...)" if dso.startswith("libm") else "other")
        profile_groups[group] = profile_groups.get(group, 0.0) + pct
except (OSError, subprocess.CalledProcessError) as e:
    log("perf unavailable:", e)
finally:
    if os.path.exists(perf_out):
        os.remove(perf_out)

# --- 5. BENCHMARKS.md ----------------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


cpu_name = sh("lscpu | sed -n 's/^Model name: *//p'")
mem_gib = sh("free -g | awk '/Mem:/{print $2}'")
gxx = sh("g++ -dumpfullversion")
openblas = sh("dpkg-query -W -f='${Version}' libopenblas0-openmp")
torch_version = sh("/usr/bin/python3 -c 'import torch; print(torch.__version__)'")
rev = sh(f"git -C {ROOT} rev-parse --short HEAD")
plain, osft = step_ms["plain"], step_ms["osft-update"]
tb = step_ms[torch_key]
vs_torch, osft_ratio = paired(plain, tb), paired(osft, plain)
# The floor of the first ratio: the step's GEMMs alone, at the fastest of the three threadings, over
# PyTorch's whole step of the same round. No step made of these GEMMs can go below it.
gemm_floor = paired(roof_ms["plain"], tb)
gradient_ratio, factored_ratio = paired(step_ms["osft-gradient"], plain), paired(step_ms["osft-factored"], plain)
svd_ratio, rss_ratio = paired(svd_ms["sculpt"], svd_ms["torch"]), paired(rss["osft-update"], rss["plain"])


def per_round(f):
    return f"; per round {f.text(fmt='{:.3f}')}"


vs_modern = paired(plain, step_ms[modern_key])
vs_modern_bf16 = paired(plain, step_ms[modern_bf16_key])
rows = [
    (f"Plain fine-tuning step, sculpt / fastest PyTorch {modern_version} fp32 (eager or torch.compile)",
     f"{plain.text(unit=' ms')} vs {step_ms[modern_key].text(unit=' ms')} ({modern_key}){per_round(vs_modern)}",
     vs_modern.median, "≤ 0.67", vs_modern.median <= 0.67),
    (f"Plain step, sculpt fp32 / fastest PyTorch {modern_version} bf16 autocast (reported apart: not the same arithmetic)",
     f"{plain.text(unit=' ms')} vs {step_ms[modern_bf16_key].text(unit=' ms')} ({modern_bf16_key}){per_round(vs_modern_bf16)}",
     vs_modern_bf16.median, "–", None),
    ("Plain fine-tuning step, sculpt / fastest PyTorch", f"{plain.text(unit=' ms')} vs {tb.text(unit=' ms')} "
     f"({torch_key} threads){per_round(vs_torch)}", vs_torch.median, "≤ 0.67", vs_torch.median <= 0.67),
    ("GEMMs alone / fastest PyTorch step (the floor of the ratio above with OpenBLAS's sgemm)",
     f"{roof_ms['plain'].text(unit=' ms')} vs {tb.text(unit=' ms')}{per_round(gemm_floor)}", gemm_floor.median,
     "–", None),
    ("sgemm roofline fraction of the plain step", f"{roof_ms['plain'].text(unit=' ms')} of GEMMs alone "
     f"({roof_gflop['plain'][0]:.2f} GFLOP, {roof_gflop['plain'][1]} shapes), each over its own run's step"
     f"{per_round(roof_fraction['plain'])}", roof_fraction["plain"].median, "≥ 0.75",
     roof_fraction["plain"].median >= 0.75),
    ("OSFT update step / plain step (u = 0.25)", f"{osft.text(unit=' ms')} vs {plain.text(unit=' ms')}"
     f"{per_round(osft_ratio)}", osft_ratio.median, "≤ 1.15", osft_ratio.median <= 1.15),
    ("OSFT gradient step / plain step", f"{step_ms['osft-gradient'].text(unit=' ms')}{per_round(gradient_ratio)}",
     gradient_ratio.median, "–", None),
    ("OSFT factored step (the public trainer's parameterisation) / plain step",
     f"{step_ms['osft-factored'].text(unit=' ms')}{per_round(factored_ratio)}", factored_ratio.median, "–", None),
    ("SVD of all 28 targets, sculpt / torch.linalg.svd", f"{svd_ms['sculpt'].text(unit=' ms')} vs "
     f"{svd_ms['torch'].text(unit=' ms')}{per_round(svd_ratio)}", svd_ratio.median, "≤ 1.0", svd_ratio.median <= 1.0),
    ("Peak RSS, OSFT update / plain", f"{rss['osft-update'].text(fmt='{:.0f}', unit=' MiB')} vs "
     f"{rss['plain'].text(fmt='{:.0f}', unit=' MiB')}", rss_ratio.median, "≤ 1.3", rss_ratio.median <= 1.3),
    ("Greedy decoding with KV cache / re-running the prefix (new tok/s)",
     f"{decode['BM_DecodeWithKvCache'].text(fmt='{:.0f}')} vs {decode['BM_DecodeNaivePrefix'].text(fmt='{:.0f}')}",
     decode["BM_DecodeWithKvCache"].median / decode["BM_DecodeNaivePrefix"].median, "large", None),
    ("Greedy decoding with KV cache, sculpt / PyTorch twin (new tok/s)",
     f"{decode['BM_DecodeWithKvCache'].text(fmt='{:.0f}')} vs {decode[torch_decode_key].text(fmt='{:.0f}')} "
     f"({torch_decode_key} thread(s))",
     decode["BM_DecodeWithKvCache"].median / decode[torch_decode_key].median, "–", None),
]
lines = [
    "# Benchmarks",
    "",
    f"Written by `bench/run` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC at commit "
    f"`{rev}`. Do not edit by hand: run `bench/run` again.",
    "",
    "## Machine and versions",
    "",
    f"- CPU: {cpu_name}, {os.cpu_count()} cores; {mem_gib} GiB; {platform.platform()}",
    f"- sculpt: Release build (g++ {gxx}), OpenMP, OpenBLAS {openblas} (OpenMP build), 2 threads",
    f"- PyTorch {torch_version} (Debian python3-torch, CPU), "
    f"timed with torch/OpenBLAS threads {', '.join(f'{t}/{b}' for t, b in TORCH_SETUPS)}; fastest: {torch_key}",
    f"- PyTorch {modern_version} (PyPI, the reference environment `scripts/reference-env.sh`), timed as "
    f"{', '.join(MODERN_SETUPS)} (torch threads; torch.compile; bf16 autocast); fastest fp32: {modern_key}",
    f"- OpenBLAS sgemm peak on this machine (2048³, 2 threads): {peak_gflops:.0f} GFLOP/s",
    "",
    "## Method",
    "",
    "Reference config: Llama with hidden 256, 4 layers, 4 heads, SwiGLU 688, vocab 4096, untied head, random "
    "weights; one optimizer step = forward, backward, global-norm clipping and AdamW on a batch of 8 × 128 tokens "
    "with the loss on every token. `bench/bench_train_step` (sculpt) and `bench/torch_train_step.py` (its "
    "PyTorch twin, `bench/torch_llama.py`) time "
    f"{a.steps} steps after two warm-ups and report the median; each figure below is the median over "
    f"{a.rounds} process runs, with the runs' min–max in brackets. Variants run interleaved, round by round, "
    "and a ratio of two step times is the median of its per-round ratios (this VM's slow spells last longer "
    "than a round's neighbouring runs are apart, so they divide out); its per-round min–max is shown. "
    "The roofline re-times every GEMM the step issues (recorded through `set_gemm_observer`) alone on the "
    "same shapes and threads, each the fastest of OpenBLAS's own threading, sculpt's split (C cut into one "
    "block per thread, by rows or, when C is at least 4 times wider than tall, by columns, each block a "
    "single-threaded OpenBLAS call, which is what the step uses) and the same cut always by rows; its sum "
    "over the step's time, both from the same process of each round, is the fraction of the sgemm roofline "
    "reached (median of the rounds' fractions). Decoding: batch 8, a 64-token prompt, 64 new tokens, greedy (`bench/bench_forward`, "
    "`bench/torch_decode.py`).",
    "",
    "## Results",
    "",
    "| figure | measured: median (min–max) | ratio | target | met |",
    "|---|---|---|---|---|",
]
for name, measured, ratio, target, met in rows:
    lines.append(f"| {name} | {measured} | {ratio:.3f} | {target} | "
                 f"{'–' if met is None else ('yes' if met else '**no**')} |")
lines += [
    "",
    f"OSFT update step's own roofline: {roof_ms['osft-update'].text(unit=' ms')} of GEMMs; fraction of its "
    f"step {roof_fraction['osft-update'].text(fmt='{:.3f}')}.",
    f"Forward pass of 8 × 128 tokens: {decode['BM_ForwardBatch8x128'].text(fmt='{:.0f}', unit=' tok/s')}.",
    "",
    "## Scaling",
    "",
    "Training step time against tokens per batch (batch 8, sequence 64 to 1024) and against hidden size "
    "(128 to 1024; SwiGLU 2.69 × hidden, heads of 64), sculpt and PyTorch (its fastest set-up above), 3 timed "
    "steps each.",
    "",
    "![step time against tokens per batch](docs/bench/scaling_tokens.svg)",
    "![step time against hidden size](docs/bench/scaling_hidden.svg)",
    "",
    "| tokens per batch | sculpt ms | PyTorch ms | ratio |",
    "|---|---|---|---|",
]
lines += [f"| {r['tokens_per_batch']} | {r['sculpt_ms']:.1f} | {r['pytorch_ms']:.1f} | "
          f"{r['sculpt_ms'] / r['pytorch_ms']:.3f} |" for r in scaling["tokens"]]
lines += ["", "| hidden size | sculpt ms | PyTorch ms | ratio |", "|---|---|---|---|"]
lines += [f"| {r['hidden_size']} | {r['sculpt_ms']:.1f} | {r['pytorch_ms']:.1f} | "
          f"{r['sculpt_ms'] / r['pytorch_ms']:.3f} |" for r in scaling["hidden"]]
lines += ["", "## Profile", "",
          f"Where the plain step's time goes: `perf record -F 1999` over {a.steps} timed steps (plus the warm-ups "
          "and set-up) of `bench_train_step`, 2 threads, shares of all samples.", "",
          "| share of samples | group |", "|---|---|"]
lines += [f"| {v:.1f} % | {k} |" for k, v in sorted(profile_groups.items(), key=lambda kv: -kv[1])] or \
    ["| – | perf not available |"]
lines += ["", "| share of samples | library | function |", "|---|---|---|"]
lines += [f"| {pct:.1f} % | {dso} | `{sym}` |" for pct, dso, sym in profile_rows[:20]]
sys.path.insert(0, BENCH)
from peft_osf import section as peft_osf_section  # noqa: E402 - the one renderer of that section
lines += [""] + peft_osf_section(peft_osf, modern_version)
lines += ["", "## All step timings (ms)", "", "| variant | median (min–max) |", "|---|---|"]
lines += [f"| {k} | {v.text()} |" for k, v in step_ms.items()]
# The real-shape, bf16-kernel and bf16-precision sections are measured apart (bench/real_shape.py,
# ~15 minutes; bench/bf16_gemm.py; bench/bf16_step.py): carried over as they are.
from real_shape import HEADING as REAL_SHAPE  # noqa: E402
from bf16_gemm import TITLE as BF16_KERNEL  # noqa: E402
from bf16_step import TITLE as BF16_STEP  # noqa: E402
if os.path.exists(a.output):
    with open(a.output) as f:
        old = f.read().rstrip("\n").split("\n")
    for heading in (REAL_SHAPE, BF16_KERNEL, BF16_STEP):
        if heading in old:
            start = old.index(heading)
            end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
            lines += [""] + old[start:end]
with open(a.output + ".tmp", "w") as f:
    f.write("\n".join(lines) + "\n")
os.replace(a.output + ".tmp", a.output)
print("\n".join(lines[lines.index("## Results"):lines.index("## Scaling")]))
log("wrote", a.output)
