#!/usr/bin/python3
"""PyTorch twin of bench_train_step: the same Llama (float32), batch and AdamW step, timed the
same way (median of N steps after two warm-ups). Prints one JSON line. Debian's python3-torch.
   OMP_NUM_THREADS / OPENBLAS_NUM_THREADS and --threads choose the threading set-up."""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=10)
p.add_argument("--threads", type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

D, FF, L, H, V, B, T = 256, 688, 4, 4, 4096, 8, 128
hd = D // H


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1 = torch.nn.Parameter(torch.ones(D))
        self.n2 = torch.nn.Parameter(torch.ones(D))
        self.q, self.k, self.v, self.o = (torch.nn.Linear(D, D, bias=False) for _ in range(4))
        self.g = torch.nn.Linear(D, FF, bias=False)
        self.u = torch.nn.Linear(D, FF, bias=False)
        self.d = torch.nn.Linear(FF, D, bias=False)

    def forward(self, x, cos, sin, mask):
        def norm(x, w):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w

        def rope(t):
            t1, t2 = t[..., : hd // 2], t[..., hd // 2:]
            return t * cos + torch.cat((-t2, t1), -1) * sin

        h = norm(x, self.n1)
        q = rope(self.q(h).view(B, T, H, hd).transpose(1, 2))
        k = rope(self.k(h).view(B, T, H, hd).transpose(1, 2))
        v = self.v(h).view(B, T, H, hd).transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask, -1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(B, T, D))
        h = norm(x, self.n2)
        return x + self.d(F.silu(self.g(h)) * self.u(h))


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(L))
        self.norm = torch.nn.Parameter(torch.ones(D))
        self.head = torch.nn.Linear(D, V, bias=False)

    def forward(self, tokens, cos, sin, mask):
        x = self.emb(tokens)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.norm
        return self.head(x)


model = Model()
inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
freqs = torch.arange(T).float()[:, None] * inv[None]
emb = torch.cat((freqs, freqs), -1)
cos, sin = emb.cos(), emb.sin()
mask = torch.full((T, T), float("-inf")).triu(1)
tokens = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
times = []
for s in range(a.steps + 2):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(tokens, cos, sin, mask).view(-1, V), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    dt = (time.perf_counter() - t0) * 1000
    if s >= 2:
        times.append(dt)
times.sort()
print(json.dumps({"median_ms": round(times[len(times) // 2], 2), "min_ms": round(times[0], 2),
                  "max_ms": round(times[-1], 2), "steps": a.steps, "threads": a.threads}))
