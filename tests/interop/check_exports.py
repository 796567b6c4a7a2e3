"""What sculpt writes loads in transformers.

For each tiny model of check_models.py (Llama with Llama 3 rope scaling, Mistral with a sliding
window, Qwen2 with biases; tied and untied), given sculpt's byte tokenizer: `sculpt train` for 3
steps, plain and with OSFT, exported as one file and sharded (--max-shard-size 100KB). Then
AutoModelForCausalLM.from_pretrained reports no missing, unexpected or mismatched keys, its logits
equal sculpt's on the exported directory to 1e-4 (max abs, fp32), 32 greedy tokens agree, and
AutoTokenizer encodes a sample text to sculpt's ids. The export is also checked against the model
that was trained, not only against sculpt's reading of the export: the last training checkpoint,
restored onto the base model as --resume restores it, gives logits equal to transformers' on the
export to 1e-4. The shipped models/sculpt-base-small (bf16) loads as it is, and is trained 3 steps
plain and with OSFT, exported in fp32 and checked the same way.

A config.json saved by transformers, with one field sculpt does not know injected, makes
`sculpt train` exit non-zero with one line naming the field and the file, and write nothing.
"""
import json
import subprocess
import os
import shutil

import safetensors.torch
import torch
import transformers

from check_models import CLASSES, make_model, sequences
from common import Failures, arguments, read_jsonl, run, write_jsonl

TOLERANCE = 1e-4
SAMPLE = "The cat sat on the mat. Ünïcödé, 日本語 and 😀 too!"


def compare(a, fail, name, export_dir, seq_file, prompt_file, n_greedy=32):
    model, info = transformers.AutoModelForCausalLM.from_pretrained(export_dir, dtype=torch.float32,
                                                                    output_loading_info=True)
    model.eval()
    for kind in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        fail.check(not info.get(kind), f"{name} {kind}", str(info.get(kind))[:300])
    out = os.path.join(a.work, f"{name}.logits.safetensors")
    run(a.tool, "logits", export_dir, seq_file, out)
    ours = safetensors.torch.load_file(out)
    seqs = [r["ids"] for r in read_jsonl(seq_file)]
    with torch.no_grad():
        worst = max(float((ours[f"logits_{i}"] - model(torch.tensor([s])).logits[0]).abs().max())
                    for i, s in enumerate(seqs))
        prompts = [r["ids"] for r in read_jsonl(prompt_file)]
        ref = [model.generate(torch.tensor([p]), do_sample=False, max_new_tokens=n_greedy, min_new_tokens=n_greedy,
                              eos_token_id=None, pad_token_id=0)[0, len(p):].tolist() for p in prompts]
    fail.check(worst <= TOLERANCE, f"{name} logits", f"max |sculpt - transformers| = {worst:.3g} > {TOLERANCE}")
    gen = os.path.join(a.work, f"{name}.greedy.jsonl")
    run(a.tool, "greedy", export_dir, prompt_file, n_greedy, gen)
    for i, (o, r) in enumerate(zip(read_jsonl(gen), ref)):
        fail.check(o["ids"] == r, f"{name} greedy", f"prompt {i}: {o['ids'][:10]} vs {r[:10]}")
    tok = transformers.AutoTokenizer.from_pretrained(export_dir)
    sample_in, sample_out = os.path.join(a.work, "sample.in.jsonl"), os.path.join(a.work, f"{name}.sample.jsonl")
    write_jsonl(sample_in, [{"text": SAMPLE, "ids": []}])
    run(a.tool, "encode", export_dir, sample_in, sample_out)
    ours_ids = read_jsonl(sample_out)[0]["model_ids"]
    theirs = tok.encode(SAMPLE, add_special_tokens=True)
    fail.check(ours_ids == theirs, f"{name} tokenizer", f"ours {ours_ids[:12]} theirs {theirs[:12]}")
    print(f"{name}: loads with no key problems; logits max abs diff {worst:.2e}; greedy and tokenizer compared")
    return model


def compare_with_trained(a, fail, name, base_dir, out_dir, model, seq_file):
    """The last checkpoint of a training run (the trained weights) against transformers' export."""
    checkpoints = sorted(os.listdir(os.path.join(out_dir, "checkpoints")))
    out = os.path.join(a.work, f"{name}.trained.logits.safetensors")
    run(a.tool, "checkpoint-logits", base_dir, os.path.join(out_dir, "checkpoints", checkpoints[-1]), seq_file, out)
    ours = safetensors.torch.load_file(out)
    seqs = [r["ids"] for r in read_jsonl(seq_file)]
    fail.check(len(ours) == len(seqs), f"{name} trained rows", f"{len(ours)} logits for {len(seqs)} sequences")
    with torch.no_grad():
        worst = 0.0
        for i, s in enumerate(seqs):
            diff = (ours[f"logits_{i}"] - model(torch.tensor([s])).logits[0]).abs()
            fail.check(not diff.isnan().any(), f"{name} trained NaN", f"sequence {i}")
            worst = max(worst, float(diff.max()))
    fail.check(worst <= TOLERANCE, f"{name} export vs trained",
               f"max |trained model - transformers on the export| = {worst:.3g} > {TOLERANCE}")
    print(f"{name}: the trained model ({checkpoints[-1]}) equals transformers' export, max abs diff {worst:.2e}")


def check_unknown_field_refused(a, fail, base, data):
    """A transformers-saved config with one unknown field: refused by name, exit 1, nothing written."""
    bad = os.path.join(a.work, "unknown-field-model")
    shutil.rmtree(bad, ignore_errors=True)
    shutil.copytree(base, bad)
    cfg_path = os.path.join(bad, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["my_new_attention_trick"] = True
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    out = os.path.join(a.work, "unknown-field-out")
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([a.sculpt, "train", "-m", bad, "-d", data, "-o", out, "--max-steps", "1"],
                       capture_output=True, text=True)
    lines = [line for line in r.stderr.splitlines() if "error" in line]
    fail.check(r.returncode != 0, "unknown config field exit", f"exit {r.returncode}")
    fail.check(len(lines) == 1 and "my_new_attention_trick" in lines[0] and cfg_path in lines[0],
               "unknown config field message", r.stderr[-400:])
    fail.check(not os.path.exists(out), "unknown config field output", f"{out} was created")
    print(f"unknown config field: refused ({lines[0] if lines else r.stderr.strip()[:200]})")


def main():
    a = arguments()
    fail = Failures()
    torch.set_num_threads(2)
    byte_tok = os.path.join(a.work, "byte-tokenizer")
    os.makedirs(byte_tok, exist_ok=True)
    run(a.tool, "byte-tokenizer", byte_tok)
    seqs = sequences(1)[:3]  # 7, 40 and 200 tokens
    seq_file, prompt_file = os.path.join(a.work, "sequences.jsonl"), os.path.join(a.work, "prompts.jsonl")
    write_jsonl(seq_file, [{"ids": [i % 258 for i in s]} for s in seqs])
    write_jsonl(prompt_file, [{"ids": [i % 258 for i in s[:6]]} for s in seqs[:2]])
    data = os.path.join(a.root, "examples", "data", "colors.jsonl")
    for k, (arch, tied) in enumerate([(x, t) for x in CLASSES for t in (True, False)]):
        base = os.path.join(a.work, f"{arch}-{'tied' if tied else 'untied'}-init")
        initial = make_model(arch, tied, seed=100 + k)
        initial.save_pretrained(base)
        for f in os.listdir(byte_tok):
            shutil.copy(os.path.join(byte_tok, f), base)
        for method in ("plain", "osft"):
            for layout in ("single", "sharded"):
                name = f"{arch}-{'tied' if tied else 'untied'}-{method}-{layout}"
                out = os.path.join(a.work, name)
                shutil.rmtree(out, ignore_errors=True)
                flags = ["--method", method] + (["--unfreeze-rank-ratio", "0.5"] if method == "osft" else [])
                flags += ["--max-shard-size", "100KB" if layout == "sharded" else "2GB"]
                run(a.sculpt, "train", "-m", base, "-d", data, "-o", out, "--max-steps", 3, "--learning-rate", "1e-2",
                    "--effective-batch-size", 4, "--logging-steps", 0, "--threads", 2, "--save-steps", 3, *flags)
                export = os.path.join(out, "final")
                sharded = os.path.exists(os.path.join(export, "model.safetensors.index.json"))
                fail.check(sharded == (layout == "sharded"), f"{name} layout", f"index present: {sharded}")
                trained = compare(a, fail, name, export, seq_file, prompt_file)
                compare_with_trained(a, fail, name, base, out, trained, seq_file)
                moved = max(float((p - q).abs().max()) for p, q in zip(trained.parameters(), initial.parameters()))
                fail.check(moved > 1e-4, f"{name} trained", f"the export equals the initial weights (max change {moved:.2g})")
    shipped = os.path.join(a.root, "models", "sculpt-base-small")
    if os.path.isdir(shipped):
        g = torch.Generator().manual_seed(2)
        shipped_seqs = [torch.randint(3, 8000, (n,), generator=g).tolist() for n in (9, 120, 512)]
        write_jsonl(seq_file, [{"ids": s} for s in shipped_seqs])
        write_jsonl(prompt_file, [{"ids": [1] + shipped_seqs[1][:4]}])
        compare(a, fail, "sculpt-base-small", shipped, seq_file, prompt_file)
        for method in ("plain", "osft"):
            name = f"sculpt-base-small-{method}"
            out = os.path.join(a.work, name)
            shutil.rmtree(out, ignore_errors=True)
            flags = ["--method", method] + (["--unfreeze-rank-ratio", "0.5"] if method == "osft" else [])
            run(a.sculpt, "train", "-m", shipped, "-d", data, "-o", out, "--max-steps", 3, "--learning-rate", "1e-3",
                "--effective-batch-size", 4, "--logging-steps", 0, "--threads", 2, "--save-steps", 3,
                "--save-dtype", "f32", *flags)
            trained = compare(a, fail, name, os.path.join(out, "final"), seq_file, prompt_file)
            compare_with_trained(a, fail, name, shipped, out, trained, seq_file)
    check_unknown_field_refused(a, fail, os.path.join(a.work, "llama-tied-init"), data)
    fail.finish()


if __name__ == "__main__":
    main()
