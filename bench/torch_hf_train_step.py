"""PyTorch 2.x twin of `bench_train_step --model`: one optimizer step of a real Hugging Face model
(transformers' AutoModelForCausalLM, float32) on random tokens with the loss on every token, full
fine-tuning (every parameter), global-norm clipping 1.0 and AdamW (lr 1e-4, β 0.9/0.95, ε 1e-8,
no weight decay, as sculpt's defaults in bench_train_step), timed as bench_train_step times its
steps: the median of --steps steps after two warm-ups. Prints one JSON line. Run it in the
reference environment (scripts/reference-env.sh).
   .reference-env/bin/python bench/torch_hf_train_step.py --model DIR [--batch 4] [--seq 512]
       [--steps 5] [--threads 2] [--compile]"""
import argparse
import json
import resource
import time

import torch
import torch.nn.functional as F
import transformers

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--batch", type=int, default=4)
p.add_argument("--seq", type=int, default=512)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
p.add_argument("--compile", action="store_true")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
model.train()
forward = torch.compile(model) if a.compile else model
vocab = model.config.vocab_size
tokens = torch.randint(0, vocab, (a.batch, a.seq))
targets = torch.randint(0, vocab, (a.batch, a.seq))
opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0)
times = []
for s in range(a.steps + 2):
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    logits = forward(input_ids=tokens).logits  # (B, T, V)
    loss = F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    dt = (time.perf_counter() - t0) * 1000
    if s >= 2:
        times.append(dt)
times.sort()
print(json.dumps({"median_ms": round(times[len(times) // 2], 2), "min_ms": round(times[0], 2),
                  "max_ms": round(times[-1], 2), "steps": a.steps, "threads": a.threads, "torch": torch.__version__,
                  "transformers": transformers.__version__, "compile": a.compile,
                  "attention": model.config._attn_implementation,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
