#!/usr/bin/python3
"""Where did task 2's OSFT update go when task 3 started? For a `sculpt demo --methods osft` run
directory: per target matrix, the share of the update ΔW = W(after task 2) − W(after task 1) that
lies inside the two-sided complement task 3 trains in (re-decomposed from W(after task 2) with
k = ⌊r(1−u)⌋), and the update's top singular value against σ_k of W.
   /usr/bin/python3 bench/update_overlap.py DEMO_RUN_DIR [--u 0.25]"""
import argparse
import json
import struct

import numpy as np


def load(path):
    """The F32/F16 tensors of a safetensors file as float64 arrays."""
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header, out = json.loads(b[8:8 + n]), {}
    for name, v in header.items():
        if name == "__metadata__":
            continue
        s, e = v["data_offsets"]
        dtype = {"F32": np.float32, "F16": np.float16}[v["dtype"]]
        out[name] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=dtype).reshape(v["shape"]).astype(np.float64)
    return out


p = argparse.ArgumentParser()
p.add_argument("run")
p.add_argument("--u", type=float, default=0.25)
a = p.parse_args()
stages = sorted(__import__("glob").glob(f"{a.run}/experiment/osft/stage-*"))
w1, w2 = (load(f"{s}/final/model.safetensors") for s in stages[:2])
left, ratio = [], []
for name in w1:
    if not any(t in name for t in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")):
        continue
    delta = w2[name] - w1[name]  # [N, M]: task 2's update
    U, S, Vt = np.linalg.svd(w2[name], full_matrices=False)
    k = int(np.floor(len(S) * (1 - a.u)))
    Uh, Vh = U[:, :k], Vt[:k]  # [N, k], [k, M]: what task 3 protects
    trainable = delta - Uh @ (Uh.T @ delta)
    trainable = trainable - (trainable @ Vh.T) @ Vh
    left.append(np.linalg.norm(trainable) ** 2 / np.linalg.norm(delta) ** 2)
    ratio.append(np.linalg.svd(delta, compute_uv=False)[0] / S[k - 1])
print(f"{len(left)} targets: share of task 2's update energy left trainable at task 3: mean {np.mean(left):.3f} "
      f"(min {min(left):.3f}, max {max(left):.3f}); top singular value of the update / sigma_k: "
      f"mean {np.mean(ratio):.2f}")
