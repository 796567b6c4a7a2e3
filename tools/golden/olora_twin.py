"""O-LoRA's regulariser in PyTorch (float64), as the public trainer adds it to the loss:
    orthogonal = Σ_i Σ |A_i · A_tᵀ|     (A: PEFT's lora_A weight, (r, in); earlier tasks' A_i frozen)
    l2         = Σ_{θ ∈ {A_t, B_t}} ‖θ‖²   (the issue's λ2 ‖θ_t‖²; the public code uses ‖θ‖ with λ2 = 0)
    loss       = λ1 · orthogonal + λ2 · l2
and one LoRA layer's adapter gradients from a full-weight gradient G through W = W0 + s·B·A.
Writes tests/fixtures/olora.safetensors. Run: /usr/bin/python3 tools/golden/olora_twin.py"""
import os

import torch

from safetensors_lite import save

torch.manual_seed(11)
r, n_in, n_out, tasks = 4, 12, 8, 2
lam1, lam2, s = 0.5, 0.03, 16.0 / 4
a_t = torch.randn(r, n_in, dtype=torch.float64, requires_grad=True)
b_t = torch.randn(n_out, r, dtype=torch.float64, requires_grad=True)
prev = [torch.randn(r, n_in, dtype=torch.float64) for _ in range(tasks)]
orth = sum(torch.abs(p @ a_t.T).sum() for p in prev)
l2 = (a_t ** 2).sum() + (b_t ** 2).sum()
loss = lam1 * orth + lam2 * l2
loss.backward()

# Adapter gradients through the merged weight: L = <G, W0 + s B A> for a fixed G.
g = torch.randn(n_out, n_in, dtype=torch.float64)
a2 = a_t.detach().clone().requires_grad_(True)
b2 = b_t.detach().clone().requires_grad_(True)
w0 = torch.randn(n_out, n_in, dtype=torch.float64)
(g * (w0 + s * b2 @ a2)).sum().backward()

out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "olora.safetensors")
tensors = {"a_t": a_t.detach(), "b_t": b_t.detach(), "g": g, "grad_a_reg": a_t.grad, "grad_b_reg": b_t.grad,
           "grad_a_task": a2.grad, "grad_b_task": b2.grad}
for i, p in enumerate(prev):
    tensors[f"prev.{i}"] = p
save(out, {k: v.to(torch.float64) for k, v in tensors.items()},
     {"lambda1": str(lam1), "lambda2": str(lam2), "scale": str(s), "orthogonal": repr(orth.item()),
      "l2": repr(l2.item())})
print("wrote", os.path.normpath(out))
