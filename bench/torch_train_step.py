#!/usr/bin/python3
"""PyTorch twin of bench_train_step: the same Llama (float32, bench/torch_llama.py), batch and
AdamW step, timed the same way (median of N steps after two warm-ups). Prints one JSON line.
   OMP_NUM_THREADS / OPENBLAS_NUM_THREADS and --threads choose the threading set-up;
   --hidden/--ffn/--layers/--heads/--vocab/--batch/--seq the shapes (reference config by default);
   --compile wraps the model in torch.compile (PyTorch 2.x; compiling happens in the warm-ups),
   --bf16 runs forward and loss under CPU bf16 autocast (master weights and AdamW stay fp32)."""
import argparse
import json
import resource
import time

import torch
import torch.nn.functional as F

from torch_llama import Llama

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=10)
p.add_argument("--threads", type=int, default=1)
p.add_argument("--compile", action="store_true")
p.add_argument("--bf16", action="store_true")
for name, default in (("hidden", 256), ("ffn", 688), ("layers", 4), ("heads", 4), ("vocab", 4096),
                      ("batch", 8), ("seq", 128)):
    p.add_argument("--" + name, type=int, default=default)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

model = Llama(a.hidden, a.ffn, a.layers, a.heads, a.vocab)
forward = torch.compile(model) if a.compile else model
tokens = torch.randint(0, a.vocab, (a.batch, a.seq))
targets = torch.randint(0, a.vocab, (a.batch, a.seq))
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
times = []
for s in range(a.steps + 2):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.bf16):
        loss = F.cross_entropy(forward(tokens).view(-1, a.vocab).float(), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    dt = (time.perf_counter() - t0) * 1000
    if s >= 2:
        times.append(dt)
times.sort()
print(json.dumps({"median_ms": round(times[len(times) // 2], 2), "min_ms": round(times[0], 2),
                  "max_ms": round(times[-1], 2), "steps": a.steps, "threads": a.threads, "torch": torch.__version__,
                  "compile": a.compile, "bf16": a.bf16,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
