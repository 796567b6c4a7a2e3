#!/usr/bin/python3
"""PyTorch twin of bench_forward's decoding benchmark: batch 8, a 64-token prompt, 64 new tokens
by greedy decoding with a KV cache (bench/torch_llama.py, reference config, random weights).
Prints one JSON line: new tokens per second, median and range over --repeats runs."""
import argparse
import json
import time

import torch

from torch_llama import Llama

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--repeats", type=int, default=5)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
B, P, N = 8, 64, 64
model = Llama(256, 688, 4, 4, 4096).eval()
prompt = torch.randint(0, 4096, (B, P))
rates = []
with torch.inference_mode():
    for r in range(a.repeats + 1):  # one warm-up
        t0 = time.perf_counter()
        cache = model.new_cache(B, P + N + 1)
        nxt = model(prompt, cache, 0)[:, -1].argmax(-1, keepdim=True)
        for i in range(N):  # as bench_forward: the prompt, then N one-token steps
            nxt = model(nxt, cache, P + i)[:, -1].argmax(-1, keepdim=True)
        dt = time.perf_counter() - t0
        if r > 0:
            rates.append(B * N / dt)
rates.sort()
print(json.dumps({"median_tok_s": round(rates[len(rates) // 2], 1), "min_tok_s": round(rates[0], 1),
                  "max_tok_s": round(rates[-1], 1), "threads": a.threads}))
