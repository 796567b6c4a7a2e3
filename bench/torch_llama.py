"""The PyTorch twin of sculpt's Llama for the benchmarks (float32, no bias, untied head, RoPE,
RMSNorm, SwiGLU, causal attention) with an optional preallocated KV cache. Debian's python3-torch."""
import math

import torch
import torch.nn.functional as F


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


class Block(torch.nn.Module):
    def __init__(self, D, FF, H):
        super().__init__()
        self.H, self.hd = H, D // H
        self.n1 = torch.nn.Parameter(torch.ones(D))
        self.n2 = torch.nn.Parameter(torch.ones(D))
        self.q, self.k, self.v, self.o = (torch.nn.Linear(D, D, bias=False) for _ in range(4))
        self.g = torch.nn.Linear(D, FF, bias=False)
        self.u = torch.nn.Linear(D, FF, bias=False)
        self.d = torch.nn.Linear(FF, D, bias=False)

    def forward(self, x, cos, sin, mask, cache=None, start=0):
        B, T, D = x.shape
        H, hd = self.H, self.hd

        def rope(t):  # t [B, H, T, hd]
            t1, t2 = t[..., : hd // 2], t[..., hd // 2:]
            return t * cos + torch.cat((-t2, t1), -1) * sin

        h = rms_norm(x, self.n1)
        q = rope(self.q(h).view(B, T, H, hd).transpose(1, 2))
        k = rope(self.k(h).view(B, T, H, hd).transpose(1, 2))
        v = self.v(h).view(B, T, H, hd).transpose(1, 2)
        if cache is not None:  # cache = (K, V), each [B, H, max_len, hd], filled in place
            cache[0][:, :, start:start + T] = k
            cache[1][:, :, start:start + T] = v
            k, v = cache[0][:, :, :start + T], cache[1][:, :, :start + T]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # [B, H, T, start+T]
        if mask is not None:
            scores = scores + mask
        att = torch.softmax(scores, -1) @ v
        x = x + self.o(att.transpose(1, 2).reshape(B, T, D))
        h = rms_norm(x, self.n2)
        return x + self.d(F.silu(self.g(h)) * self.u(h))


class Llama(torch.nn.Module):
    def __init__(self, D, FF, L, H, V):
        super().__init__()
        self.D, self.L, self.H, self.hd = D, L, H, D // H
        self.emb = torch.nn.Embedding(V, D)
        self.blocks = torch.nn.ModuleList(Block(D, FF, H) for _ in range(L))
        self.norm = torch.nn.Parameter(torch.ones(D))
        self.head = torch.nn.Linear(D, V, bias=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd))
        self.register_buffer("inv_freq", inv, persistent=False)

    def new_cache(self, batch, max_len):
        return [(torch.zeros(batch, self.H, max_len, self.hd), torch.zeros(batch, self.H, max_len, self.hd))
                for _ in range(self.L)]

    def forward(self, tokens, cache=None, start=0):  # tokens [B, T] → logits [B, T, V]
        T = tokens.shape[1]
        freqs = torch.arange(start, start + T).float()[:, None] * self.inv_freq[None]
        emb = torch.cat((freqs, freqs), -1)
        cos, sin = emb.cos(), emb.sin()
        mask = None
        if T > 1:  # causal over the new tokens; every cached position is visible
            mask = torch.full((T, start + T), float("-inf")).triu(start + 1)
        x = self.emb(tokens)
        for i, b in enumerate(self.blocks):
            x = b(x, cos, sin, mask, None if cache is None else cache[i], start)
        return self.head(rms_norm(x, self.norm))
