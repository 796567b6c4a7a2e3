#!/usr/bin/python3
"""PyTorch float64 twin of the Llama-family forward pass, written from the Hugging Face
modeling equations (LlamaRMSNorm, rotate_half RoPE with llama3 scaling, repeat_kv GQA, SwiGLU,
Qwen2 qkv bias, Mistral sliding window). It produces the fixtures sculpt's tests compare against.

Run with Debian's Python (python3-torch):  /usr/bin/python3 tools/golden/llama_twin.py
Writes tests/fixtures/model/<case>/{config.json, model.safetensors, golden.safetensors},
tests/fixtures/ops.safetensors, tests/fixtures/train/<case>.safetensors (loss, autograd gradients,
10 AdamW steps) and, when ../shared is present, tests/fixtures/stories260K_logits.safetensors.
"""
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import safetensors_lite  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
torch.set_default_dtype(torch.float64)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def inv_freq(cfg):
    hd = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type") == "llama3":
        factor, low, high = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old = rs["original_max_position_embeddings"]
        low_wavelen, high_wavelen = old / low, old / high
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = (wavelen >= high_wavelen) & (wavelen <= low_wavelen)
        inv = torch.where(medium, smoothed, scaled)
    elif rs and rs.get("rope_type") == "linear":
        inv = inv / rs["factor"]
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x, positions, inv):
    # x: (B, H, T, hd); positions: (T,)
    freqs = positions[:, None].double() * inv[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def attention(q, k, v, window=0):
    # q: (B, H, T, hd); k, v: (B, Hkv, T, hd)
    B, H, T, hd = q.shape
    group = H // k.shape[1]
    k = k.repeat_interleave(group, dim=1)
    v = v.repeat_interleave(group, dim=1)
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    allowed = j <= i
    if window:
        allowed = allowed & (i - j < window)
    scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def forward(cfg, W, tokens):
    B, T = tokens.shape
    D, H, Hkv, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    inv = inv_freq(cfg)
    pos = torch.arange(T)
    x = W["model.embed_tokens.weight"][tokens]
    window = cfg.get("sliding_window") or 0

    def lin(h, name):
        y = h @ W[name + ".weight"].T
        return y + W[name + ".bias"] if name + ".bias" in W else y

    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rmsnorm(x, W[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").view(B, T, H, hd).transpose(1, 2)
        k = lin(h, p + "self_attn.k_proj").view(B, T, Hkv, hd).transpose(1, 2)
        v = lin(h, p + "self_attn.v_proj").view(B, T, Hkv, hd).transpose(1, 2)
        q, k = apply_rope(q, pos, inv), apply_rope(k, pos, inv)
        a = attention(q, k, v, window).transpose(1, 2).reshape(B, T, H * hd)
        x = x + lin(a, p + "self_attn.o_proj")
        h = rmsnorm(x, W[p + "post_attention_layernorm.weight"], eps)
        g = lin(h, p + "mlp.gate_proj")
        u = lin(h, p + "mlp.up_proj")
        x = x + lin(torch.nn.functional.silu(g) * u, p + "mlp.down_proj")
    x = rmsnorm(x, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T


def random_weights(cfg, gen):
    D, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    Q = cfg["num_attention_heads"] * cfg["head_dim"]
    KV = cfg["num_key_value_heads"] * cfg["head_dim"]
    qkv_bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    o_bias = cfg["model_type"] != "qwen2" and cfg.get("attention_bias", False)

    def r(*shape, scale=0.2):
        return (torch.randn(*shape, generator=gen) * scale).float()

    W = {"model.embed_tokens.weight": r(V, D, scale=1.0)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        W[p + "input_layernorm.weight"] = 1 + r(D, scale=0.1)
        W[p + "self_attn.q_proj.weight"] = r(Q, D)
        W[p + "self_attn.k_proj.weight"] = r(KV, D)
        W[p + "self_attn.v_proj.weight"] = r(KV, D)
        if qkv_bias:
            W[p + "self_attn.q_proj.bias"] = r(Q)
            W[p + "self_attn.k_proj.bias"] = r(KV)
            W[p + "self_attn.v_proj.bias"] = r(KV)
        W[p + "self_attn.o_proj.weight"] = r(D, Q)
        if o_bias:
            W[p + "self_attn.o_proj.bias"] = r(D)
        W[p + "post_attention_layernorm.weight"] = 1 + r(D, scale=0.1)
        W[p + "mlp.gate_proj.weight"] = r(F, D)
        W[p + "mlp.up_proj.weight"] = r(F, D)
        W[p + "mlp.down_proj.weight"] = r(D, F)
    W["model.norm.weight"] = 1 + r(D, scale=0.1)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = r(V, D)
    return W


CASES = {
    # Grouped-query attention (6 query heads over 2 kv heads), odd sizes, untied head, padding.
    "gqa_odd": dict(model_type="llama", hidden_size=36, intermediate_size=67, num_hidden_layers=2,
                    num_attention_heads=6, num_key_value_heads=2, head_dim=6, vocab_size=97,
                    rms_norm_eps=1e-5, rope_theta=500.0, tie_word_embeddings=False, lengths=[9, 5, 1]),
    # Qwen2: q/k/v biases, multi-query attention, tied embeddings.
    "qwen2_bias_tied": dict(model_type="qwen2", hidden_size=32, intermediate_size=50, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=1, head_dim=8, vocab_size=61,
                            rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True, lengths=[7, 7]),
    # Llama 3 rope scaling over 40 positions, explicit head_dim != hidden/heads, attention_bias.
    "llama3_rope": dict(model_type="llama", hidden_size=24, intermediate_size=40, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, head_dim=10, vocab_size=53,
                        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, attention_bias=True,
                        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                          high_freq_factor=4.0, original_max_position_embeddings=16),
                        lengths=[40, 23]),
    # Mistral: sliding-window attention (window 4) over 12 positions.
    "mistral_window": dict(model_type="mistral", hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                           num_attention_heads=2, num_key_value_heads=1, head_dim=8, vocab_size=41,
                           rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, sliding_window=4,
                           lengths=[12, 6]),
}


def write_case(name, spec, seed):
    gen = torch.Generator().manual_seed(seed)
    lengths = spec.pop("lengths")
    cfg = dict(spec, max_position_embeddings=64, hidden_act="silu", bos_token_id=1, eos_token_id=2)
    cfg.setdefault("rope_scaling", None)
    W = random_weights(cfg, gen)
    B, T = len(lengths), max(lengths)
    tokens = torch.randint(3, cfg["vocab_size"], (B, T), generator=gen)
    for b, n in enumerate(lengths):
        tokens[b, n:] = 0  # right padding
    logits = forward(cfg, {k: v.double() for k, v in W.items()}, tokens)
    out = os.path.join(FIXTURES, "model", name)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    safetensors_lite.save(os.path.join(out, "model.safetensors"), W)
    safetensors_lite.save(os.path.join(out, "golden.safetensors"),
                          {"tokens": tokens, "lengths": torch.tensor(lengths), "logits": logits})


def write_ops(gen):
    t = {}
    x = torch.randn(5, 7, generator=gen)
    w = 1 + 0.3 * torch.randn(7, generator=gen)
    t["rmsnorm.x"], t["rmsnorm.w"], t["rmsnorm.y"] = x, w, rmsnorm(x, w, 1e-5)
    cfg = dict(head_dim=8, rope_theta=10000.0)
    q = torch.randn(1, 2, 6, 8, generator=gen)  # (B, H, T, hd)
    pos = torch.tensor([0, 1, 2, 5, 17, 63])
    t["rope.x"] = q[0].transpose(0, 1).reshape(6, 16)  # rows at `pos`, heads side by side
    t["rope.positions"] = pos
    t["rope.y"] = apply_rope(q, pos, inv_freq(cfg))[0].transpose(0, 1).reshape(6, 16)
    cfg3 = dict(head_dim=16, rope_theta=500000.0, rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                                    high_freq_factor=4.0,
                                                                    original_max_position_embeddings=8192))
    t["rope_llama3.inv_freq"] = inv_freq(cfg3)
    qa = torch.randn(2, 4, 5, 6, generator=gen)
    ka = torch.randn(2, 2, 5, 6, generator=gen)
    va = torch.randn(2, 2, 5, 6, generator=gen)
    t["attention.q"] = qa.transpose(1, 2).reshape(2, 5, 24)
    t["attention.k"] = ka.transpose(1, 2).reshape(2, 5, 12)
    t["attention.v"] = va.transpose(1, 2).reshape(2, 5, 12)
    t["attention.out"] = attention(qa, ka, va).transpose(1, 2).reshape(2, 5, 24)
    t["attention.out_window2"] = attention(qa, ka, va, window=2).transpose(1, 2).reshape(2, 5, 24)
    g, u = torch.randn(11, generator=gen) * 3, torch.randn(11, generator=gen)
    t["swiglu.gate"], t["swiglu.up"], t["swiglu.out"] = g, u, torch.nn.functional.silu(g) * u
    safetensors_lite.save(os.path.join(FIXTURES, "ops.safetensors"), t)


def write_stories260k():
    hf = os.path.join(ROOT, "..", "shared", "models", "stories260K", "hf")
    if not os.path.isdir(hf):
        print("skipping stories260K logits: ../shared is absent")
        return
    cfg = json.load(open(os.path.join(hf, "config.json")))
    cfg["head_dim"] = cfg["hidden_size"] // cfg["num_attention_heads"]
    W = {k: v.double() for k, v in safetensors_lite.load(os.path.join(hf, "model.safetensors")).items()}
    # "<s> Once upon a time" in tok512 ids, then a few arbitrary ones.
    tokens = torch.tensor([[1, 403, 407, 261, 378, 442, 9, 37, 480, 260, 5, 300]])
    logits = forward(cfg, W, tokens)
    safetensors_lite.save(os.path.join(FIXTURES, "stories260K_logits.safetensors"), {"tokens": tokens, "logits": logits})


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    for i, (name, spec) in enumerate(CASES.items()):
        write_case(name, dict(spec), seed=1234 + i)
    write_ops(torch.Generator().manual_seed(7))
    write_stories260k()
    print("fixtures written to", FIXTURES)



# ----------------------------------------------------------------------------- training goldens

def lr_at(step, base_lr, warmup, total):
    """Linear warm-up then cosine decay to 0 (HF get_cosine_schedule_with_warmup)."""
    if step < warmup:
        return base_lr * step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def masked_loss(cfg, W, tokens, targets, mask):
    logits = forward(cfg, W, tokens)
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
    return (ce * mask.reshape(-1)).sum() / mask.sum()


def write_training(name, seed):
    """Loss, every parameter gradient (autograd, float64) and 10 AdamW steps on a padded batch
    with a partial loss mask, for the model of fixture case `name`."""
    d = os.path.join(FIXTURES, "model", name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    W32 = safetensors_lite.load(os.path.join(d, "model.safetensors"))
    gen = torch.Generator().manual_seed(seed)
    lengths = [10, 7, 4]
    B, T = len(lengths), max(lengths)
    seq = torch.randint(3, cfg["vocab_size"], (B, T + 1), generator=gen)
    tokens, targets = seq[:, :-1].clone(), seq[:, 1:].clone()
    mask = torch.zeros(B, T)
    for b, n in enumerate(lengths):
        tokens[b, n:] = 0
        targets[b, n:] = 0
        mask[b, 2:n] = 1.0  # prompt = first two positions; loss on the rest
    W = {k: v.double().requires_grad_(True) for k, v in W32.items()}
    loss = masked_loss(cfg, W, tokens, targets, mask)
    loss.backward()
    out = {"tokens": tokens, "targets": targets, "mask": mask, "loss": loss.detach().reshape(1)}
    for k, v in W.items():
        out["grad." + k] = v.grad.detach()

    # 10 AdamW steps (torch.optim.AdamW: decoupled decay), warm-up + cosine, global-norm clipping.
    hp = dict(lr=3e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, warmup=2, steps=10, max_grad_norm=1.0)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in W32.items()}
    params = {k: v.double().detach().requires_grad_(True) for k, v in params.items()}
    names = list(params)
    opt = torch.optim.AdamW([params[k] for k in names], lr=hp["lr"], betas=hp["betas"], eps=hp["eps"],
                            weight_decay=hp["weight_decay"])
    losses, norms = [], []
    for step in range(hp["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step + 1, hp["lr"], hp["warmup"], hp["steps"])
        opt.zero_grad()
        l = masked_loss(cfg, params, tokens, targets, mask)
        l.backward()
        norms.append(torch.nn.utils.clip_grad_norm_([params[k] for k in names], hp["max_grad_norm"]).item())
        opt.step()
        losses.append(l.item())
    out["adamw.losses"] = torch.tensor(losses)
    out["adamw.grad_norms"] = torch.tensor(norms)
    for k in names:
        out["adamw.final." + k] = params[k].detach()
    os.makedirs(os.path.join(FIXTURES, "train"), exist_ok=True)
    safetensors_lite.save(os.path.join(FIXTURES, "train", name + ".safetensors"), out,
                          metadata={k: str(v) for k, v in hp.items()})


def write_factored(name, unfreeze=0.5):
    """The public OSFT trainer's algorithm (mini_trainer), float64: every q/k/v/o/gate/up/down
    matrix becomes W = U_h S_h V_h + U_l S_l V_l with U_l, S_l, V_l trained by AdamW; gradients
    clipped globally, then dU_l, dV_l projected away from U_h, V_h; U_l, V_l re-projected after
    each step. 10 steps on the training fixture's batch."""
    d = os.path.join(FIXTURES, "model", name)
    cfg = json.load(open(os.path.join(d, "config.json")))
    W32 = safetensors_lite.load(os.path.join(d, "model.safetensors"))
    g = safetensors_lite.load(os.path.join(FIXTURES, "train", name + ".safetensors"))
    tokens, targets, mask = g["tokens"], g["targets"], g["mask"].double()
    hp = dict(lr=5e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, warmup=2, steps=10, max_grad_norm=1.0)
    targets_re = ("q_proj.weight", "k_proj.weight", "v_proj.weight", "o_proj.weight", "gate_proj.weight",
                  "up_proj.weight", "down_proj.weight")
    dense, factors, frozen = {}, {}, {}
    for k, v in W32.items():
        w = v.double()
        if k.endswith(targets_re):
            U, S, Vt = torch.linalg.svd(w, full_matrices=False)
            r = S.shape[0]
            kk = int(math.floor(r * (1 - unfreeze)))
            frozen[k] = (U[:, :kk], S[:kk], Vt[:kk])
            factors[k] = [U[:, kk:].clone().requires_grad_(True), S[kk:].clone().requires_grad_(True),
                          Vt[kk:].clone().requires_grad_(True)]
        else:
            dense[k] = w.clone().requires_grad_(True)
    params = list(dense.values()) + [p for f in factors.values() for p in f]
    opt = torch.optim.AdamW(params, lr=hp["lr"], betas=hp["betas"], eps=hp["eps"], weight_decay=hp["weight_decay"])

    def weights():
        W = dict(dense)
        for k, (Uh, Sh, Vh) in frozen.items():
            Ul, Sl, Vl = factors[k]
            W[k] = (Uh * Sh) @ Vh + (Ul * Sl) @ Vl
        return W

    losses = []
    for step in range(hp["steps"]):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step + 1, hp["lr"], hp["warmup"], hp["steps"])
        opt.zero_grad()
        loss = masked_loss(cfg, weights(), tokens, targets, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, hp["max_grad_norm"])
        with torch.no_grad():
            for k, (Uh, Sh, Vh) in frozen.items():
                Ul, Sl, Vl = factors[k]
                Ul.grad -= Uh @ (Uh.T @ Ul.grad)
                Vl.grad -= (Vl.grad @ Vh.T) @ Vh
        opt.step()
        with torch.no_grad():
            for k, (Uh, Sh, Vh) in frozen.items():
                Ul, Sl, Vl = factors[k]
                Ul -= Uh @ (Uh.T @ Ul)
                Vl -= (Vl @ Vh.T) @ Vh
        losses.append(loss.item())
    out = {"losses": torch.tensor(losses)}
    for k, v in weights().items():
        out["final." + k] = v.detach()
    safetensors_lite.save(os.path.join(FIXTURES, "train", name + "_factored.safetensors"), out,
                          metadata={k: str(v) for k, v in dict(hp, unfreeze=unfreeze).items()})


if __name__ == "__main__":
    main()
    write_training("gqa_odd", 99)
    write_training("qwen2_bias_tied", 100)
    write_factored("gqa_odd")
    print("training goldens written")
