#!/usr/bin/python3
"""torch.linalg.svd (float32, thin) over the target matrices of the reference config (4 layers:
q, k, v, o 256×256, gate/up 688×256, down 256×688), the same shapes sculpt decomposes. Prints
one JSON line with the total milliseconds (median of 3 repetitions)."""
import json
import time

import torch

torch.manual_seed(0)
shapes = [(256, 256)] * 4 + [(688, 256)] * 2 + [(256, 688)]
mats = [torch.randn(*s) * 0.02 for _ in range(4) for s in shapes]
times = []
for _ in range(3):
    t0 = time.perf_counter()
    for m in mats:
        torch.linalg.svd(m, full_matrices=False)
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({"svd_ms": round(times[1], 2), "matrices": len(mats), "threads": torch.get_num_threads()}))
