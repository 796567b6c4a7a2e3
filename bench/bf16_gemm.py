#!/usr/bin/env python3
"""Which bf16 matrix multiply sculpt's bf16 precision uses: runs bench/bench_bf16_gemm (OpenBLAS
sgemm, OpenBLAS sbgemm where the library exports it, oneDNN's bf16 matmul, on the GEMMs of one
SmolLM2-135M training step) and rewrites BENCHMARKS.md's bf16-kernel section. Nothing else may run
while it times.
   python3 bench/bf16_gemm.py --build build [--tokens 2048] [--rounds 5] [--update BENCHMARKS.md]
   python3 bench/bf16_gemm.py --from-json result.json --update BENCHMARKS.md"""
import argparse
import datetime
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peft_osf import cpu_name, update_section  # noqa: E402  (the bench scripts' shared helpers)

TITLE = "## bf16 matrix multiply kernel"


def measure(a):
    exe = os.path.join(a.build, "bench", "bench_bf16_gemm")
    if not os.path.isfile(exe):
        sys.exit(f"bf16_gemm: {exe} is missing; hint: apt-get install libdnnl-dev, then reconfigure and build")
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    out = subprocess.run([exe, "--tokens", str(a.tokens), "--rounds", str(a.rounds)], env=env, check=True,
                         capture_output=True, text=True).stdout
    res = json.loads(out.strip().split("\n")[-1])
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    res.update(cpu=cpu_name(), commit=commit, rounds=a.rounds,
               date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    return res


def section(res):
    ms = res["step_ms"]
    gflop = res["step_gflop"]
    lines = [TITLE, "",
             f"`bench/bf16_gemm.py` on {res['date']} at commit `{res['commit']}`, {res['cpu']}, "
             f"{res['threads']} threads: the GEMMs of one SmolLM2-135M training step ({res['tokens']} tokens; "
             "forward y = x Wᵀ, input gradient dy W and weight gradient dyᵀ x of every linear layer, 30 layers "
             "and the tied head), bf16 inputs with fp32 accumulation and output against fp32 sgemm; each "
             f"shape the median of {res['rounds']} interleaved rounds. `err` is max |C − C_fp32| / max |C_fp32|, "
             "the rounding of the inputs to bf16.", ""]
    present = ms.get("sbgemm") is not None
    lines += ["| kernel | one step's GEMMs | GFLOP/s | / sgemm |", "|---|---|---|---|"]
    lines.append(f"| OpenBLAS sgemm (fp32) | {ms['sgemm']:.0f} ms | {gflop / ms['sgemm'] * 1e3:.0f} | 1.000 |")
    if present:
        lines.append(f"| OpenBLAS sbgemm (bf16) | {ms['sbgemm']:.0f} ms | {gflop / ms['sbgemm'] * 1e3:.0f} | "
                     f"{ms['sbgemm'] / ms['sgemm']:.3f} |")
    else:
        lines.append("| OpenBLAS sbgemm (bf16) | absent: Debian's OpenBLAS is built without BUILD_BFLOAT16 "
                     "(cblas.h declares `cblas_sbgemm`, the library does not export it; nor does PyPI's "
                     "scipy-openblas) | – | – |")
    lines.append(f"| oneDNN matmul (bf16, Debian libdnnl-dev) | {ms['onednn']:.0f} ms | "
                 f"{gflop / ms['onednn'] * 1e3:.0f} | {ms['onednn'] / ms['sgemm']:.3f} |")
    best = "oneDNN" if not present or ms["onednn"] <= ms["sbgemm"] else "OpenBLAS sbgemm"
    lines += ["", f"The faster bf16 kernel here is **{best}**; sculpt's `--precision bf16` runs its matmuls on "
              "oneDNN (linalg/bf16_gemm.h). Converting activations to bf16 is not in these times; the whole "
              "step is in the next section.", "",
              "| gemm | m × n × k | per step | sgemm ms | oneDNN ms | oneDNN / sgemm | err |",
              "|---|---|---|---|---|---|---|"]
    for s in res["shapes"]:
        lines.append(f"| {s['gemm']} | {s['m']} × {s['n']} × {s['k']} | {s['count']} | {s['sgemm_ms']:.2f} | "
                     f"{s['onednn_ms']:.2f} | {s['onednn_ms'] / s['sgemm_ms']:.3f} | {s['err_onednn']:.1e} |")
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--tokens", type=int, default=2048)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--update", help="markdown file whose bf16-kernel section to rewrite (BENCHMARKS.md)")
    p.add_argument("--from-json", help="render a saved result instead of measuring")
    a = p.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            res = json.load(f)
    else:
        res = measure(a)
    print(json.dumps(res))
    if a.update:
        update_section(a.update, section(res))
        print("wrote", a.update, file=sys.stderr)


if __name__ == "__main__":
    main()
