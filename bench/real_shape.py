"""First figures at a real shape: SmolLM2-135M-Instruct (hidden 576, 30 layers, 9/3 heads,
vocabulary 49,152, tied embeddings), fp32, on this machine. Side by side in one run, interleaved
round by round (each round a fresh process of each variant, in turn, so that the VM's slow spells
hit all alike): sculpt's training step (plain full fine-tuning, and OSFT update mode at u = 0.25 on
every projection) and PyTorch's (transformers' model, eager and torch.compile) on 4 × 512 random
tokens with the loss on every token, AdamW and clipping; peak RSS of each process; then greedy
generation speed (batch 1, a 64-token prompt, 128 new tokens) of sculpt and transformers' generate.
Both load the same weights: the Hugging Face conversion of the GGUF (scripts/get-models.sh --hf
smollm2). Prints one JSON object; --update FILE rewrites FILE's real-shape section (BENCHMARKS.md).
Run it in the reference environment with a Release build of the benchmarks and nothing else running:
   .reference-env/bin/python bench/real_shape.py --build build-bench [--rounds 3] [--steps 5] [--update BENCHMARKS.md]"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

from peft_osf import cpu_name, update_section  # one source of both for the bench scripts

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODEL = os.path.join(ROOT, "models", "SmolLM2-135M-Instruct.Q4_1-hf")
HEADING = "## Real shape: SmolLM2-135M-Instruct (first figures)"


def log(*msg):
    print("real_shape:", *msg, file=sys.stderr, flush=True)


def run_json(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    out = subprocess.run(cmd, env=env, cwd=HERE, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def spread(xs, fmt):
    """'median (min–max)' of a list."""
    return f"{fmt(statistics.median(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def measure(a):
    step_variants = {
        "sculpt plain": [os.path.join(a.build, "bench", "bench_train_step"), "--method", "plain"],
        "sculpt OSFT update": [os.path.join(a.build, "bench", "bench_train_step"), "--method", "osft-update",
                               "--u", "0.25"],
        "PyTorch eager": [sys.executable, "torch_hf_train_step.py"],
        "PyTorch compile": [sys.executable, "torch_hf_train_step.py", "--compile"],
    }
    if a.no_compile:
        del step_variants["PyTorch compile"]
    shape = ["--model", a.model, "--batch", str(a.batch), "--seq", str(a.seq), "--steps", str(a.steps)]
    gen_variants = {
        "sculpt": [os.path.join(a.build, "bench", "bench_generate")],
        "transformers generate": [sys.executable, "torch_generate.py", "--threads", str(a.threads)],
    }
    gen_args = ["--model", a.model, "--prompt-tokens", "64", "--new-tokens", "128", "--repeats", "3"]
    rounds = []
    for r in range(a.rounds):
        row = {"step": {}, "generate": {}}
        for name, cmd in step_variants.items():
            log(f"round {r + 1} of {a.rounds}: {name} step")
            extra = ["--threads", str(a.threads)] if "PyTorch" in name else []
            row["step"][name] = run_json(cmd + shape + extra, a.threads)
        for name, cmd in gen_variants.items():
            log(f"round {r + 1} of {a.rounds}: {name} generation")
            row["generate"][name] = run_json(cmd + gen_args, a.threads)
        rounds.append(row)
    any_torch = rounds[0]["step"]["PyTorch eager"]
    return {"rounds": rounds, "batch": a.batch, "seq": a.seq, "steps": a.steps, "threads": a.threads,
            "torch": any_torch["torch"], "transformers": any_torch["transformers"],
            "attention": any_torch["attention"], "cpu": cpu_name(), "commit": git_rev(),
            "date": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"}


def git_rev():
    return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def section(res):
    """The BENCHMARKS.md section for a result of measure()."""
    rounds = res["rounds"]
    names = list(rounds[0]["step"])
    torch_fp32 = min((n for n in names if n.startswith("PyTorch")),
                     key=lambda n: statistics.median(r["step"][n]["median_ms"] for r in rounds))
    ms, mib = (lambda v: f"{v:.0f} ms"), (lambda v: f"{v:.0f} MiB")
    ratio = lambda v: f"{v:.3f}"  # noqa: E731
    tokens = res["batch"] * res["seq"]
    lines = [HEADING, "",
             f"`bench/real_shape.py` on {res['date']} at commit `{res['commit']}`, {res['cpu']}, {res['threads']} threads "
             "each: not targets yet (the performance issue sets them), the first measurements at a real shape. "
             "SmolLM2-135M-Instruct in fp32, the same weights on both sides (the Hugging Face conversion of the "
             "GGUF, `scripts/get-models.sh --hf smollm2`). A training step is forward, backward, global-norm "
             f"clipping and AdamW on {res['batch']} × {res['seq']} random tokens ({tokens} tokens) with the loss on "
             "every token, every parameter trained (OSFT: the 210 projection matrices confined to the complement "
             "of their top 75 % singular directions, u = 0.25, the rest trained plainly); sculpt's "
             "`bench/bench_train_step --model` against transformers "
             f"{res['transformers']} on PyTorch {res['torch']} (`bench/torch_hf_train_step.py`, attention "
             f"`{res['attention']}`), each the median of {res['steps']} steps after two warm-ups; "
             f"{len(rounds)} rounds, each a fresh process of every variant in turn; median (min–max) over the "
             "rounds, and ratios per round. Generation: greedy, batch 1, a 64-token prompt, exactly 128 new "
             "tokens with the KV cache (`bench/bench_generate`, `bench/torch_generate.py` through "
             "`model.generate`); prefill is the time to the first new token, decoding the rest.", "",
             "| training step | step time | tokens/s | peak RSS |", "|---|---|---|---|"]
    for n in names:
        steps = [r["step"][n]["median_ms"] for r in rounds]
        lines.append(f"| {n} | {spread(steps, ms)} | {tokens / statistics.median(steps) * 1000:.0f} | "
                     f"{spread([r['step'][n]['peak_rss_kib'] / 1024 for r in rounds], mib)} |")

    def per_round(num, den, key="median_ms", part="step"):
        return spread([r[part][num][key] / r[part][den][key] for r in rounds], ratio)

    lines += ["", f"sculpt plain / {torch_fp32} (the faster PyTorch fp32): {per_round('sculpt plain', torch_fp32)}; "
              f"sculpt OSFT update / sculpt plain: {per_round('sculpt OSFT update', 'sculpt plain')}; "
              f"peak RSS sculpt plain / {torch_fp32}: "
              f"{per_round('sculpt plain', torch_fp32, 'peak_rss_kib')}.", "",
              "| generation | prefill (64 tokens) | decoding | new tokens/s overall | peak RSS |", "|---|---|---|---|---|"]
    for n in rounds[0]["generate"]:
        g = [r["generate"][n] for r in rounds]
        lines.append(f"| {n} | {spread([x['prefill_ms'] for x in g], ms)} | "
                     f"{spread([x['decode_tok_s'] for x in g], lambda v: f'{v:.1f} tok/s')} | "
                     f"{spread([x['new_tok_s'] for x in g], lambda v: f'{v:.1f}')} | "
                     f"{spread([x['peak_rss_kib'] / 1024 for x in g], mib)} |")
    lines += ["", "Decoding speed, sculpt / transformers, per round: "
              f"{per_round('sculpt', 'transformers generate', 'decode_tok_s', 'generate')}."]
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    p.add_argument("--model", default=MODEL)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--no-compile", action="store_true", help="leave out PyTorch's torch.compile variant")
    p.add_argument("--update", help="markdown file whose real-shape section to rewrite (BENCHMARKS.md)")
    p.add_argument("--from-json", help="render a saved result instead of measuring")
    a = p.parse_args()
    a.build, a.model = os.path.abspath(a.build), os.path.abspath(a.model)
    if a.from_json:
        with open(a.from_json) as f:
            res = json.load(f)
    else:
        if not os.path.isfile(os.path.join(a.model, "config.json")):
            sys.exit(f"real_shape: {a.model} is missing; hint: bash scripts/reference-env.sh && "
                     "bash scripts/get-models.sh --hf smollm2")
        res = measure(a)
    print(json.dumps(res))
    if a.update:
        update_section(a.update, section(res))
        log("wrote", a.update)


if __name__ == "__main__":
    main()
