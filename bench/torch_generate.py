"""PyTorch 2.x twin of bench_generate: transformers' `generate` (greedy, KV cache, batch 1) on the
same fixed prompt ids (i·7919 + 13 mod vocab), exactly --new-tokens new tokens (no end-of-sequence
stop), timed the same way: prefill = one new token, total = all; medians over --repeats after one
warm-up. Prints one JSON line. Run it in the reference environment.
   .reference-env/bin/python bench/torch_generate.py --model DIR [--prompt-tokens 64] [--new-tokens 128]
       [--repeats 5] [--threads 2]"""
import argparse
import json
import resource
import statistics
import time

import torch
import transformers

p = argparse.ArgumentParser()
p.add_argument("--model", required=True)
p.add_argument("--prompt-tokens", type=int, default=64)
p.add_argument("--new-tokens", type=int, default=128)
p.add_argument("--repeats", type=int, default=5)
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
model = transformers.AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32).eval()
vocab = model.config.vocab_size
prompt = torch.tensor([[(i * 7919 + 13) % vocab for i in range(a.prompt_tokens)]])


def time_generate(n):
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=False, max_new_tokens=n,
                             min_new_tokens=n, eos_token_id=None, pad_token_id=0)
    ms = (time.perf_counter() - t0) * 1000
    assert out.shape[1] == a.prompt_tokens + n, out.shape
    return ms


time_generate(a.new_tokens)  # warm-up
prefill, total = [], []
for _ in range(a.repeats):
    prefill.append(time_generate(1))
    total.append(time_generate(a.new_tokens))
pm, tm = statistics.median(prefill), statistics.median(total)
print(json.dumps({"prefill_ms": round(pm, 2), "total_ms": round(tm, 2),
                  "decode_tok_s": round((a.new_tokens - 1) / (tm - pm) * 1000, 1),
                  "new_tok_s": round(a.new_tokens / tm * 1000, 1), "prompt_tokens": a.prompt_tokens,
                  "new_tokens": a.new_tokens, "threads": a.threads, "torch": torch.__version__,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
