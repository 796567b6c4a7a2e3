"""The reference for issue 23's bf16 loss curve: how far PyTorch's own bf16 mixed precision
(torch.autocast on the CPU: bf16 matmuls and attention, fp32 master weights and AdamW moments)
moves a fine-tuning run from its fp32 twin. Full fine-tuning of a Hugging Face model on a
CL_Benchmark task with sculpt's recipe (prompt "instruction Option: labels \\n sentence\\nAnswer:",
completion = label + EOS, loss on the completion's tokens, prompts cut in the middle to
--max-seq-len, batches of --batch examples in a seeded shuffled order, AdamW lr 1e-4 β 0.9/0.95
ε 1e-8 no weight decay, --warmup linear warm-up then cosine decay to 0, global-norm clipping 1.0),
the held-out loss (per completion token, --eval-samples test examples) every --eval-steps steps in
the run's own precision. Writes WORK/<precision>/metrics.jsonl in sculpt's metrics format, so
bench/bf16_curve.py compares the two runs the same way it compares sculpt's.
   .reference-env/bin/python bench/torch_bf16_curve.py --model DIR --data TASK_DIR --work WORK
       [--precision fp32|bf16] [--steps 200] [--batch 4] [--seq 128] [--threads 2]
Resumable per precision: a precision whose metrics.jsonl holds its last step is skipped."""
import argparse
import json
import math
import os
import random
import resource
import time

import torch
import torch.nn.functional as F
import transformers
from tokenizers import Tokenizer

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--data", required=True, help="a CL_Benchmark task directory (train.json, test.json, labels.json)")
p.add_argument("--work", required=True)
p.add_argument("--precision", choices=["fp32", "bf16"], required=True)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--seq", type=int, default=128)
p.add_argument("--lr", type=float, default=1e-4)
p.add_argument("--warmup", type=int, default=10)
p.add_argument("--eval-steps", type=int, default=25)
p.add_argument("--eval-samples", type=int, default=100)
p.add_argument("--seed", type=int, default=42)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)

out_dir = os.path.join(a.work, a.precision)
metrics_path = os.path.join(out_dir, "metrics.jsonl")
if os.path.exists(metrics_path) and any(json.loads(l).get("step") == a.steps and "loss" in json.loads(l)
                                        for l in open(metrics_path)):
    print(f"{a.precision}: done")
    raise SystemExit(0)
os.makedirs(out_dir, exist_ok=True)

tok = Tokenizer.from_file(os.path.join(a.model, "tokenizer.json"))
config = json.load(open(os.path.join(a.model, "config.json")))
eos = config["eos_token_id"]
group_dir = os.path.dirname(os.path.abspath(a.data))
instruction = json.load(open(os.path.join(os.path.dirname(group_dir), "configs", "instruction_config.json")))[
    os.path.basename(group_dir)][0]["instruction"]
labels = json.load(open(os.path.join(a.data, "labels.json")))


def examples(split):
    """(tokens, targets) per record: targets mark the completion's tokens (label + EOS)."""
    out = []
    for r in json.load(open(os.path.join(a.data, split + ".json"))):
        if r["label"] == "-":
            continue
        prompt = tok.encode(instruction + "Option: " + ", ".join(labels) + " \n" + r["sentence"] + "\nAnswer:",
                            add_special_tokens=False).ids
        completion = tok.encode(r["label"], add_special_tokens=False).ids + [eos]
        excess = len(prompt) + len(completion) - a.seq
        if excess > 0:  # cut the prompt's middle, as sculpt does
            keep = len(prompt) - excess
            prompt = prompt[:keep // 2] + prompt[len(prompt) - (keep - keep // 2):]
        out.append((prompt + completion, [0] * len(prompt) + [1] * len(completion)))
    return out


train, test = examples("train"), examples("test")[:a.eval_samples]
rng = random.Random(a.seed)
order = list(range(len(train)))
rng.shuffle(order)


def batch_tensors(items):
    """inputs (B, T−1), next-token targets (B, T−1) with −100 outside the completions."""
    width = max(len(t) for t, _ in items) - 1
    ids = torch.zeros((len(items), width), dtype=torch.long)
    tgt = torch.full((len(items), width), -100, dtype=torch.long)
    for i, (t, m) in enumerate(items):
        n = len(t) - 1
        ids[i, :n] = torch.tensor(t[:-1])
        tgt[i, :n] = torch.tensor([t[j + 1] if m[j + 1] else -100 for j in range(n)])
    return ids, tgt


def loss_of(model, items):
    """Mean negative log-likelihood per completion token, and the token count."""
    ids, tgt = batch_tensors(items)
    lengths = torch.tensor([len(t) - 1 for t, _ in items])
    mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]  # (B, T−1): right padding
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.precision == "bf16"):
        logits = model(input_ids=ids, attention_mask=mask.long()).logits  # (B, T−1, V)
    n = int((tgt != -100).sum())
    return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100,
                           reduction="sum") / n, n


def held_out(model):
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(test), 8):
            loss, n = loss_of(model, test[i:i + 8])
            total += float(loss) * n
            tokens += n
    model.train()
    return total / tokens


def lr_at(step):  # 1-based step, sculpt's schedule
    if step <= a.warmup:
        return a.lr * step / a.warmup
    return a.lr * 0.5 * (1 + math.cos(math.pi * (step - a.warmup) / (a.steps - a.warmup)))


model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
model.train()
opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
with open(metrics_path, "w") as log:
    def write(row):
        log.write(json.dumps(row) + "\n")
        log.flush()

    write({"eval_loss": held_out(model), "eval_samples": len(test), "step": 0})
    t0 = time.perf_counter()
    for step in range(1, a.steps + 1):
        start = ((step - 1) * a.batch) % len(order)
        items = [train[order[(start + j) % len(order)]] for j in range(a.batch)]
        for group in opt.param_groups:
            group["lr"] = lr_at(step)
        opt.zero_grad(set_to_none=True)
        step_t0 = time.perf_counter()
        loss, n = loss_of(model, items)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
        opt.step()
        dt = time.perf_counter() - step_t0
        tokens = sum(len(t) - 1 for t, _ in items)
        write({"elapsed_s": time.perf_counter() - t0, "grad_norm": grad_norm, "loss": float(loss.detach()),
               "lr": lr_at(step), "step": step, "target_tokens": n, "tok_per_s": tokens / dt, "tokens": tokens})
        if step % a.eval_steps == 0:
            write({"eval_loss": held_out(model), "eval_samples": len(test), "step": step})
print(json.dumps({"precision": a.precision, "torch": torch.__version__, "transformers": transformers.__version__,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
