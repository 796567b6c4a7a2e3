"""sculpt's GGUF reader against gguf-py, the format's reference implementation.

1. A GGUF written by gguf.GGUFWriter with metadata of every value type (nested arrays included,
   a non-default general.alignment) and tensors of every type sculpt reads, filled with random
   blocks (random bytes: every bit pattern of the scales and quants): sculpt reads the same
   metadata, and dequantizes each tensor bit-identically to gguf.quants.dequantize.
2. Every tensor of the real models (scripts/get-models.sh puts them under models/): bit-identical
   too. Where the script has not run, that part is skipped with a message; part 1 always runs.
"""
import json
import math
import os

import gguf
import numpy as np
from gguf import GGMLQuantizationType as Q

from common import SKIP, Failures, arguments, run

TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q2_K, Q.Q3_K, Q.Q4_K, Q.Q5_K, Q.Q6_K]
# gguf-py's reader flattens nested arrays (field.contents()), so these are also compared with what
# was written.
NESTED = {"t.nested": [[1, 2], [3], [4, 5, 6]], "t.deep": [[[1.5, -2.0]], [[3.25]]],
          "t.nested_strings": [["x", "y"], ["z"]]}
REAL_MODELS = ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"]


def random_file(path, rng):
    w = gguf.GGUFWriter(path, "llama")
    w.add_custom_alignment(64)
    # One key per value type, and nested arrays.
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float32("t.f32", 0.1)
    w.add_float64("t.f64", math.pi)
    w.add_bool("t.bool", True)
    w.add_string("t.string", "héllo ✓ \u0000 nul")
    w.add_array("t.strings", ["a", "", "ü"])
    w.add_array("t.ints", [1, -2, 3])
    for key, value in NESTED.items():
        w.add_array(key, value)
    blobs = {}
    for qtype in TYPES:
        block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        rows, blocks_per_row = 3, max(1, 512 // block_elems)
        if qtype in (Q.F32, Q.F16, Q.BF16):
            width = block_bytes * 96
            raw = rng.integers(0, 256, size=(rows, width), dtype=np.uint8)
            if qtype == Q.F32:  # f32 bytes as they are, finite or not
                data = raw.view(np.float32)
                w.add_tensor(f"t_{qtype.name}", data, raw_dtype=qtype)
            else:
                w.add_tensor(f"t_{qtype.name}", raw.view(np.uint16).view(np.float16) if qtype == Q.F16 else raw,
                             raw_dtype=qtype)
        else:
            raw = rng.integers(0, 256, size=(rows, blocks_per_row * block_bytes), dtype=np.uint8)
            w.add_tensor(f"t_{qtype.name}", raw, raw_dtype=qtype)
        blobs[f"t_{qtype.name}"] = qtype
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return blobs


def flatten(v):
    return [y for x in v for y in flatten(x)] if isinstance(v, list) else [v]


def same_value(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return np.float32(a) == np.float32(b) or a == b
    return a == b


def compare_metadata(fails, path, tool, work):
    out = os.path.join(work, "meta.json")
    run(tool, "gguf-metadata", path, out)
    mine = json.load(open(out, encoding="utf-8"))
    reader = gguf.GGUFReader(path)
    fails.check(mine["version"] == 3, "version", mine["version"])
    keys = 0
    for field in reader.fields.values():
        if field.name.startswith("GGUF."):
            continue
        ref = field.contents()
        got = mine["metadata"].get(field.name)
        keys += 1
        if field.name in NESTED:
            fails.check(got == NESTED[field.name], "nested metadata", f"{field.name}: wrote {NESTED[field.name]} sculpt {got}")
            got = flatten(got)
        if isinstance(ref, list):
            ok = got is not None and len(ref) == len(got) and all(
                (same_value(x, y) if not isinstance(x, list) else x == y) for x, y in zip(ref, got))
        else:
            ok = got is not None and same_value(ref, got)
        fails.check(ok, "metadata", f"{os.path.basename(path)}: {field.name}: gguf-py {str(ref)[:80]} sculpt {str(got)[:80]}")
    fails.check(len(mine["metadata"]) == keys, "metadata count", f"{len(mine['metadata'])} vs {keys}")
    return reader, keys


def compare_tensors(fails, path, tool, work, reader):
    out_dir = os.path.join(work, "tensors")
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        os.remove(os.path.join(out_dir, f))
    run(tool, "gguf-dequant", path, out_dir)
    index = json.load(open(os.path.join(out_dir, "index.json")))
    fails.check(len(index) == len(reader.tensors), "tensor count", f"{len(index)} vs {len(reader.tensors)}")
    per_type = {}
    for i, (entry, t) in enumerate(zip(index, reader.tensors)):
        ref = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        mine = np.fromfile(os.path.join(out_dir, f"{i}.f32"), dtype=np.float32)
        os.remove(os.path.join(out_dir, f"{i}.f32"))
        fails.check(entry["name"] == t.name, "tensor name", f"{entry['name']} vs {t.name}")
        fails.check(list(entry["shape"]) == list(ref.shape), "tensor shape", f"{t.name}: {entry['shape']} vs {ref.shape}")
        identical = mine.size == ref.size and np.array_equal(mine.view(np.uint32), ref.reshape(-1).view(np.uint32))
        if not identical and mine.size == ref.size:
            bad = np.flatnonzero(mine.view(np.uint32) != ref.reshape(-1).view(np.uint32))
            detail = f"{t.name} ({t.tensor_type.name}): {bad.size} of {ref.size} differ, first at {bad[0]}: {mine[bad[0]]!r} vs {ref.reshape(-1)[bad[0]]!r}"
        else:
            detail = f"{t.name}: sizes {mine.size} vs {ref.size}"
        fails.check(identical, "dequantize", detail)
        name = t.tensor_type.name
        per_type[name] = per_type.get(name, 0) + ref.size
    return per_type


def main():
    a = arguments()
    fails = Failures()
    rng = np.random.default_rng(20)
    path = os.path.join(a.work, "random.gguf")
    blobs = random_file(path, rng)
    reader, keys = compare_metadata(fails, path, a.tool, a.work)
    per_type = compare_tensors(fails, path, a.tool, a.work, reader)
    print(f"random file: {keys} metadata keys, {len(blobs)} tensor types: " +
          ", ".join(f"{k} {v}" for k, v in sorted(per_type.items())))
    if per_type.keys() != {t.name for t in TYPES}:
        fails.check(False, "types covered", sorted(per_type))
    missing = []
    for name in REAL_MODELS:
        model = os.path.join(a.root, "models", name)
        if not os.path.exists(model):
            missing.append(name)
            continue
        reader, keys = compare_metadata(fails, model, a.tool, a.work)
        per_type = compare_tensors(fails, model, a.tool, a.work, reader)
        print(f"{name}: {keys} metadata keys, {len(reader.tensors)} tensors bit-identical: " +
              ", ".join(f"{k} {v:,} elements" for k, v in sorted(per_type.items())))
    if missing:
        print(f"note: {', '.join(missing)} not under models/ (run 'bash scripts/get-models.sh'); those checks were skipped")
    fails.finish()


if __name__ == "__main__":
    main()
