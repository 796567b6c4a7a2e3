"""Converts a GGUF model to a Hugging Face directory with transformers (the reference environment),
for experiments that need the model before sculpt reads GGUF itself; the product never runs this.

    python gguf_to_hf.py MODEL.gguf OUT_DIR

transformers dequantises every tensor to fp32 (and undoes llama.cpp's q/k row permutation). A
GGUF-loaded model refuses to serialise, so its weights are copied into a model built from the same
config and that one is saved (model.safetensors, fp32), with the tokenizer (tokenizer.json and its
config, the chat template) beside it. Written to OUT_DIR.tmp first, then renamed into place.
"""
import json
import os
import shutil
import sys

import torch
import transformers


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gguf_to_hf.py MODEL.gguf OUT_DIR")
    gguf_path, out = sys.argv[1], sys.argv[2].rstrip("/")
    folder, name = os.path.split(os.path.abspath(gguf_path))
    loaded = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = transformers.AutoModelForCausalLM.from_config(loaded.config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    # Tied embeddings: lm_head.weight is the embedding and may be absent from the state dict.
    missing = [k for k in missing if not (k == "lm_head.weight" and loaded.config.tie_word_embeddings)]
    if missing or unexpected:
        sys.exit(f"error: {gguf_path}: weights do not fit the config: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    # The weights were dequantised to fp32: the GGUF loader's quantization_config no longer
    # describes them (and sculpt refuses it as a quantised checkpoint).
    cfg_path = os.path.join(tmp, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg.pop("quantization_config", None)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    print(f"wrote {out}: {type(model).__name__}, {sum(p.numel() for p in model.parameters()):,} parameters, fp32")


if __name__ == "__main__":
    main()
