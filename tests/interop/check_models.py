"""Models made by transformers load in sculpt.

Tiny randomly initialised LlamaForCausalLM (Llama 3 rope scaling), MistralForCausalLM (a sliding
window of 32: shorter than every sequence but the first and than each prompt plus its 64 greedy
tokens, so both the full forward and the KV-cache decoding cross it) and Qwen2ForCausalLM (q/k/v
biases), each with grouped-query attention, tied and untied embeddings, saved by save_pretrained
as one file and sharded with an index: sculpt's logits equal transformers' to 1e-4 (max abs,
fp32) on 4 sequences (7, 40, 200 and 600 tokens), and 64 greedy tokens from 3 prompts are
identical. A NaN anywhere in sculpt's logits, or a missing row of logits or of greedy tokens,
fails the check.
"""
import os

import safetensors.torch
import torch
import transformers

from common import Failures, arguments, read_jsonl, run, write_jsonl

TOLERANCE = 1e-4
LENGTHS = (7, 40, 200, 600)
VOCAB = 512
WINDOW = 32  # Mistral's sliding window: below every prompt + 64 greedy tokens


def config(arch, tied):
    common = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=144, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                  rms_norm_eps=1e-5, tie_word_embeddings=tied, initializer_range=0.08,
                  bos_token_id=1, eos_token_id=2)
    if arch == "llama":
        return transformers.LlamaConfig(**common, rope_theta=500000.0, rope_scaling={
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64})
    if arch == "mistral":
        return transformers.MistralConfig(**common, sliding_window=WINDOW, rope_theta=10000.0)
    return transformers.Qwen2Config(**common, rope_theta=1000000.0, use_sliding_window=False)


CLASSES = {"llama": transformers.LlamaForCausalLM, "mistral": transformers.MistralForCausalLM,
           "qwen2": transformers.Qwen2ForCausalLM}


def make_model(arch, tied, seed):
    torch.manual_seed(seed)
    cfg = config(arch, tied)
    cfg._attn_implementation = "eager"
    model = CLASSES[arch](cfg).eval()
    with torch.no_grad():  # non-trivial norms and biases, so that loading them wrongly shows
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
    return model


def sequences(seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randint(3, VOCAB, (n,), generator=g).tolist() for n in LENGTHS]


def main():
    a = arguments()
    fail = Failures()
    torch.set_num_threads(2)
    seqs = sequences(0)
    seq_file = os.path.join(a.work, "sequences.jsonl")
    write_jsonl(seq_file, [{"ids": s} for s in seqs])
    prompts = [s[:n] for s, n in zip(seqs, (5, 17, 60))]
    prompt_file = os.path.join(a.work, "prompts.jsonl")
    write_jsonl(prompt_file, [{"ids": p} for p in prompts])
    for k, (arch, tied) in enumerate((a_t for a_t in [(x, t) for x in CLASSES for t in (True, False)])):
        model = make_model(arch, tied, seed=k)
        with torch.no_grad():
            ref_logits = [model(torch.tensor([s])).logits[0] for s in seqs]
            ref_greedy = [model.generate(torch.tensor([p]), do_sample=False, max_new_tokens=64, min_new_tokens=64,
                                         eos_token_id=None, pad_token_id=0)[0, len(p):].tolist() for p in prompts]
        for layout in ("single", "sharded"):
            name = f"{arch}-{'tied' if tied else 'untied'}-{layout}"
            d = os.path.join(a.work, name)
            model.save_pretrained(d, max_shard_size="100KB" if layout == "sharded" else "1GB")
            index = os.path.exists(os.path.join(d, "model.safetensors.index.json"))
            fail.check(index == (layout == "sharded"), f"{name} layout", "save_pretrained did not write the expected layout")
            out = os.path.join(a.work, f"{name}.logits.safetensors")
            run(a.tool, "logits", d, seq_file, out)
            ours = safetensors.torch.load_file(out)
            worst = 0.0
            for i, ref in enumerate(ref_logits):
                mine = ours.get(f"logits_{i}")
                if mine is None or mine.shape != ref.shape:
                    fail.check(False, f"{name} logits row", f"sequence {i}: {None if mine is None else tuple(mine.shape)} "
                                                           f"vs {tuple(ref.shape)}")
                    continue
                # torch's max propagates NaN; Python's max() over the rows would not, so each is checked.
                diff = float((mine - ref).abs().max())
                fail.check(diff <= TOLERANCE, f"{name} logits", f"sequence {i}: max |sculpt - transformers| = {diff:.3g} > {TOLERANCE}")
                worst = diff if diff != diff else max(worst, diff)
            gen = os.path.join(a.work, f"{name}.greedy.jsonl")
            run(a.tool, "greedy", d, prompt_file, 64, gen)
            got = read_jsonl(gen)
            fail.check(len(got) == len(ref_greedy), f"{name} greedy rows", f"{len(got)} rows for {len(ref_greedy)} prompts")
            for i, (o, r) in enumerate(zip(got, ref_greedy)):
                same = next((j for j, (x, y) in enumerate(zip(o["ids"], r)) if x != y), min(len(r), len(o["ids"])))
                fail.check(o["ids"] == r, f"{name} greedy", f"prompt {i}: first difference at token {same} of 64")
            print(f"{name}: logits max abs diff {worst:.2e} over {sum(LENGTHS)} positions; greedy compared")
    fail.finish()


if __name__ == "__main__":
    main()
