"""sculpt's OSFT (update mode) side by side with PEFT's OSFConfig, on the same model, data, targets
and frozen rank (run in the reference environment: scripts/reference-env.sh).

Both train models/sculpt-base-small on the same 64 prompt/completion records (one full batch per
step, so the data order is the same by construction; loss on completion + EOS), AdamW with the
same hyperparameters, gradient clipping 1.0, only the seven projection matrices of every layer
trainable, the top half of each one's singular directions frozen. The data identity is checked:
step 1's loss (before any update) must agree. Reported: median step time, peak RSS of each
process, the loss after N steps, and the leak into the protected subspace, ||U_k^T dW|| / ||dW||
and ||dW V_k|| / ||dW|| (max over matrices), computed by this script from the saved weights of
both. Prints one JSON object.
   .reference-env/bin/python bench/peft_osf.py --sculpt build-bench/sculpt [--steps 20] [--threads 2]
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
           "--save-dtype", "f32", "--logging-steps", "0"]
    subprocess.run(cmd, check=True, capture_output=True)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(os.path.join(out, "metrics.jsonl")) as f:
        m = [json.loads(line) for line in f if '"step"' in line and '"loss"' in line]
    times = sorted(1000 * (m[i]["elapsed_s"] - m[i - 1]["elapsed_s"]) for i in range(2, len(m)))
    return {"step_ms": times[len(times) // 2], "peak_rss_mib": rss / 1024, "first_loss": m[0]["loss"],
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
    times = sorted(times[1:])
    json.dump({"step_ms": times[len(times) // 2], "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               "first_loss": losses[0], "final_loss": losses[-1], "weights": out,
               "trainable_params": sum(p.numel() for p in params)}, sys.stdout)


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
    p.add_argument("--peft-child", nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.peft_child:
        return peft_child(a, *a.peft_child)
    work = tempfile.mkdtemp(prefix="peft-osf-")
    data = os.path.join(work, "data.jsonl")
    with open(data, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in records())
    ours = run_sculpt(a, data, os.path.join(work, "sculpt"))
    child = subprocess.run([sys.executable, __file__, "--steps", str(a.steps), "--threads", str(a.threads),
                            "--peft-child", data, os.path.join(work, "peft")], check=True, capture_output=True, text=True)
    theirs = json.loads(child.stdout.strip().splitlines()[-1])
    for side in (ours, theirs):
        side["leak_u"], side["leak_v"] = leaks(side.pop("weights"))
    same_data = abs(ours["first_loss"] - theirs["first_loss"]) < 1e-3
    print(json.dumps({"steps": a.steps, "threads": a.threads, "same_first_loss": same_data, "sculpt": ours, "peft": theirs}))
    if not same_data:
        sys.exit(f"step 1 losses differ ({ours['first_loss']} vs {theirs['first_loss']}): the two did not see the same data")


if __name__ == "__main__":
    main()
