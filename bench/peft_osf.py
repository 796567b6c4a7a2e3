"""sculpt's OSFT (update mode) side by side with PEFT's OSFConfig, on the same model, data, targets
and frozen rank (run in the reference environment: scripts/reference-env.sh).

Both train models/sculpt-base-small on the same 64 prompt/completion records (one full batch per
step, so the data order is the same by construction; loss on completion + EOS), AdamW with the
same hyperparameters, gradient clipping 1.0, only the seven projection matrices of every layer
trainable, the top half of each one's singular directions frozen. The data identity is checked:
step 1's loss (before any update) must agree.

Both are timed the same way: R rounds, each a fresh process of each side in turn (sculpt, then
PEFT); a round's step time is the median of its steps 2..N-1 (the first warms up; sculpt's last
step measures the leak, which it does only on logged steps, so no timed step carries it); the
ratio sculpt / PEFT is taken per round. Reported as min / median / max over the rounds: step
times, the ratio, and the peak RSS of each process; then the loss after N steps and the leak into
the protected subspace, ||U_k^T dW|| / ||dW|| and ||dW V_k|| / ||dW|| (max over matrices),
computed by this script from the saved weights of the last round. Prints one JSON object;
--update FILE rewrites FILE's "OSFT side by side with PEFT's OSF" section (BENCHMARKS.md) too.
   .reference-env/bin/python bench/peft_osf.py --sculpt build-bench/sculpt [--steps 20] [--rounds 5] [--threads 2]
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MODEL = os.path.join(ROOT, "models", "sculpt-base-small")
LR, BETAS, EPS, CLIP, RANK = 1e-4, (0.9, 0.95), 1e-8, 1.0, 0.5


def records():
    """colors.jsonl with the completion's leading space dropped: each piece then tokenizes alike
    in libsentencepiece and in Python's sentencepiece (checked through step 1's loss)."""
    with open(os.path.join(ROOT, "examples", "data", "colors.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [{"prompt": r["prompt"], "completion": r["completion"].strip()} for r in rows]


def run_sculpt(a, data, out):
    cmd = [a.sculpt, "train", "-m", MODEL, "-d", data, "-o", out, "--method", "osft", "--osft-mode", "update",
           "--effective-rank", str(RANK), "--freeze-non-targets", "--max-steps", str(a.steps),
           "--effective-batch-size", "64", "--learning-rate", str(LR), "--lr-scheduler", "constant",
           "--warmup-steps", "0", "--weight-decay", "0", "--max-grad-norm", str(CLIP), "--adam-beta1", str(BETAS[0]),
           "--adam-beta2", str(BETAS[1]), "--adam-epsilon", str(EPS), "--threads", str(a.threads),
           "--save-dtype", "f32", "--logging-steps", str(a.steps)]  # the leak is measured on the last step only
    # os.wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would be the max over every child
    # so far, the PEFT processes of earlier rounds included).
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"sculpt train failed ({proc.returncode}): {stderr.decode()[-500:]}")
    rss = usage.ru_maxrss
    with open(os.path.join(out, "metrics.jsonl")) as f:
        m = [json.loads(line) for line in f if '"step"' in line and '"loss"' in line]
    # Steps 2..N-1: elapsed_s is stamped after each step, so step i took elapsed[i] - elapsed[i-1].
    times = [1000 * (m[i]["elapsed_s"] - m[i - 1]["elapsed_s"]) for i in range(1, len(m) - 1)]
    return {"step_ms": median(times), "peak_rss_mib": rss / 1024, "first_loss": m[0]["loss"],
            "final_loss": m[-1]["loss"], "weights": os.path.join(out, "final")}


def peft_child(a, data, out):
    """The PEFT run, in its own process so that its peak RSS is its own."""
    import sentencepiece
    import torch
    import transformers
    from peft import OSFConfig, get_peft_model

    torch.set_num_threads(a.threads)
    sp = sentencepiece.SentencePieceProcessor(model_file=os.path.join(MODEL, "tokenizer.model"))
    rows = [json.loads(line) for line in open(data)]
    seqs, labels = [], []
    for r in rows:  # as sculpt builds an example: BOS + prompt + completion + EOS, loss on the last two
        p, c = sp.encode(r["prompt"]), sp.encode(r["completion"]) + [sp.eos_id()]
        seqs.append([sp.bos_id()] + p + c)
        labels.append([-100] * (1 + len(p)) + c)
    width = max(map(len, seqs))
    ids = torch.tensor([s + [0] * (width - len(s)) for s in seqs])       # (64, T)
    lab = torch.tensor([l + [-100] * (width - len(l)) for l in labels])  # (64, T)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs])
    model = transformers.AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32)
    model = get_peft_model(model, OSFConfig(effective_rank=RANK, target_modules=TARGETS))
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, betas=BETAS, eps=EPS, weight_decay=0.0)
    losses, times = [], []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, attention_mask=mask, labels=lab).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        times.append(1000 * (time.perf_counter() - t0))
        losses.append(float(loss))
    model.merge_and_unload().save_pretrained(out)
    json.dump({"step_ms": median(times[1:-1]), "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "first_loss": losses[0], "final_loss": losses[-1], "weights": out,
               "trainable_params": sum(p.numel() for p in params)}, sys.stdout)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def spread(xs, fmt):
    """'median (min–max)' of a list."""
    return f"{fmt(median(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def section(r, torch_version):
    """The BENCHMARKS.md section for a result of main()."""
    rounds = r["rounds"]
    ours, theirs = r["sculpt"], r["peft"]
    ms, mib = (lambda v: f"{v:.0f} ms"), (lambda v: f"{v:.0f} MiB")
    ratio = [s["step_ms"] / p["step_ms"] for s, p in zip(ours["rounds"], theirs["rounds"])]
    lines = ["## OSFT side by side with PEFT's OSF", "",
             f"`bench/peft_osf.py`: models/sculpt-base-small, the 64 records of examples/data/colors.jsonl as one "
             f"batch per step (the same data and order by construction; step 1's loss agrees: "
             f"{ours['first_loss']:.6f} vs {theirs['first_loss']:.6f}), {r['steps']} steps of AdamW (lr 1e-4, "
             "β 0.9/0.95, clip 1.0), q/k/v/o/gate/up/down of every layer targeted with the top half of each one's "
             "singular directions frozen, nothing else trained; sculpt `--method osft --osft-mode update "
             "--effective-rank 0.5 --freeze-non-targets`, PEFT `OSFConfig(effective_rank=0.5)` (PyTorch "
             f"{torch_version}), {r['threads']} threads each, on {r['cpu']}. Timed alike: {len(rounds)} rounds, each a "
             "fresh process of each side in turn; a round's step time is the median of its steps 2 to "
             f"{r['steps'] - 1} (sculpt measures its leak diagnostic only on the last, untimed, step); "
             "median (min–max) over the rounds. Leak: max over the 42 matrices of ‖U_kᵀ ΔW‖ / ‖ΔW‖ (left) and "
             "‖ΔW V_k‖ / ‖ΔW‖ (right), from each one's saved weights, float64.", "",
             "| | step time | peak RSS | loss after the last step | leak left | leak right |", "|---|---|---|---|---|---|"]
    for name, side in (("sculpt", ours), ("PEFT OSF", theirs)):
        lines.append(f"| {name} | {spread([x['step_ms'] for x in side['rounds']], ms)} | "
                     f"{spread([x['peak_rss_mib'] for x in side['rounds']], mib)} | {side['final_loss']:.4f} | "
                     f"{side['leak_u']:.2e} | {side['leak_v']:.2e} |")
    lines += ["", f"sculpt / PEFT step time, per round: {spread(ratio, lambda v: f'{v:.3f}')}; peak RSS: "
              f"{spread([s['peak_rss_mib'] / p['peak_rss_mib'] for s, p in zip(ours['rounds'], theirs['rounds'])], lambda v: f'{v:.3f}')}."]
    return lines


def update_section(path, lines):
    """Replaces the section that starts with lines[0] in the markdown file, up to the next '## ',
    or appends it when the file has none."""
    with open(path) as f:
        text = f.read().rstrip("\n").split("\n")
    if lines[0] in text:
        start = text.index(lines[0])
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
        text[start:end] = lines + [""]
    else:
        text += [""] + lines
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(text).rstrip("\n") + "\n")
    os.replace(path + ".tmp", path)


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def leaks(trained_dir):
    """max over target matrices of ||U_k^T dW||/||dW|| and ||dW V_k||/||dW||, k = RANK * min(m, n)."""
    import torch
    from safetensors.torch import load_file

    def tensors(d):
        out = {}
        for f in sorted(os.listdir(d)):
            if f.endswith(".safetensors"):
                out.update(load_file(os.path.join(d, f)))
        return out

    before, after = tensors(MODEL), tensors(trained_dir)
    worst_u = worst_v = 0.0
    for name, w0 in before.items():
        if not any(t in name for t in TARGETS):
            continue
        w0 = w0.double()
        dw = after[name].double() - w0
        k = int(RANK * min(w0.shape))
        u, _, vh = torch.linalg.svd(w0, full_matrices=False)
        norm = float(dw.norm())
        worst_u = max(worst_u, float((u[:, :k].T @ dw).norm()) / norm)
        worst_v = max(worst_v, float((dw @ vh[:k].T).norm()) / norm)
    return worst_u, worst_v


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sculpt", default=os.path.join(ROOT, "build-bench", "sculpt"))
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--update", help="markdown file whose PEFT section to rewrite (BENCHMARKS.md)")
    p.add_argument("--peft-child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.peft_child:
        return peft_child(a, *a.peft_child)
    work = tempfile.mkdtemp(prefix="peft-osf-")
    data = os.path.join(work, "data.jsonl")
    with open(data, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records())
    ours_rounds, theirs_rounds = [], []
    for k in range(a.rounds):
        ours_rounds.append(run_sculpt(a, data, os.path.join(work, f"sculpt-{k}")))
        child = subprocess.run([sys.executable, __file__, "--steps", str(a.steps), "--threads", str(a.threads),
                                "--peft-child", data, os.path.join(work, f"peft-{k}")], check=True, capture_output=True,
                               text=True)
        theirs_rounds.append(json.loads(child.stdout.strip().splitlines()[-1]))
    result = {"steps": a.steps, "threads": a.threads, "cpu": cpu_name(), "rounds": list(range(a.rounds))}
    for name, rounds in (("sculpt", ours_rounds), ("peft", theirs_rounds)):
        last = rounds[-1]
        side = {"first_loss": last["first_loss"], "final_loss": last["final_loss"],
                "rounds": [{"step_ms": x["step_ms"], "peak_rss_mib": x["peak_rss_mib"]} for x in rounds]}
        side["leak_u"], side["leak_v"] = leaks(last["weights"])
        side["step_ms"] = median([x["step_ms"] for x in rounds])
        side["peak_rss_mib"] = median([x["peak_rss_mib"] for x in rounds])
        result[name] = side
    same_data = abs(result["sculpt"]["first_loss"] - result["peft"]["first_loss"]) < 1e-3
    result["same_first_loss"] = same_data
    print(json.dumps(result))
    if not same_data:
        sys.exit(f"step 1 losses differ ({result['sculpt']['first_loss']} vs {result['peft']['first_loss']}): "
                 "the two did not see the same data")
    if a.update:
        import torch
        update_section(a.update, section(result, torch.__version__))


if __name__ == "__main__":
    main()
