"""sculpt's tokenizers against Hugging Face `tokenizers` and `transformers`.

For every tokenizer under ../shared/models and every kind sculpt writes or ships (the built-in
byte tokenizer, models/sculpt-base-small's SentencePiece model, stories260K's), on >= 2,000
strings (the general-text books cut into paragraphs, CL_Benchmark sentences with non-ASCII
text, and hand-made edge cases): ids equal `tokenizers`' ids exactly (no special tokens added),
the ids with the model's special tokens equal AutoTokenizer's (add_bos/add_eos), decoding equals
AutoTokenizer.decode with and without skip_special_tokens, and every 97th vocabulary entry
decodes alone as theirs does (byte-fallback pieces included). Two configurations with
add_eos_token true are compared too: beside a tokenizer.model (transformers then appends EOS) and
beside a tokenizer.json (transformers 5 leaves BOS/EOS to the file's post-processor and ignores the
flag). Chat templates are compared in check_chat_templates.py.
"""
import json
import os
import random
import shutil

import sentencepiece
import tokenizers
import transformers

from common import Failures, arguments, read_jsonl, run, skip, write_jsonl

EDGE_CASES = [
    "", " ", "  ", "\n", "\n\n\n", "\t", "x", "  leading spaces", "trailing spaces   ",
    "tab\tseparated\tvalues", "line\nbreaks\r\nand\n\n\nblank lines", " " * 40 + "forty spaces", "\n" * 25,
    "a" + " " * 17 + "b" + "\n \n \n" + "c", "Numbers 1 12 123 1234 12345 123456 3.14159 -42 1,000,000 0x1F 007",
    "9" * 60, "I'VE GOT IT, you're right, she'll go, they'd said, we'RE", "don't won't can't shouldn't y'all",
    "café naïve résumé Zürich façade", "e\u0301 a\u0308 n\u0303 combining marks: Z\u0351\u0352a\u0353l\u0354g\u0355o\u0356",
    "日本語のテキストと中文文本，还有한국어 텍스트", "Emoji 😀🎉👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 and ✓ ✗ → ←",
    "Ελληνικά και Русский текст", "العربية من اليمين إلى اليسار 123", "עברית משמאל לימין", "mixed עברית and English",
    "\u202eRTL override\u202c and \u200fRLM\u200e", "zero\u200bwidth\u200cjoiner\u200dtext\ufeffBOM",
    "control \x01\x02\x07\x1b[31m red \x7f del", "nul \x00 inside", "<s> looks special </s> but <unk> may be too",
    "<|endoftext|> <|begin_of_text|> <|eot_id|> written in text", "a  b   c    d     e",
    "punctuation!!! ??? ... --- (brackets) [x] {y} «quotes» „Zitat“ ‘single’", "mixed\u00a0non-breaking\u2009thin\u3000ideographic spaces",
    "Ωmega ß ÿ Ā ǅ ﬁ ligature Ⅻ ①", "http://example.com/path?query=1&x=2#frag and user@example.org",
    "    \n   ", "\u2581already has a metaspace", "Supercalifragilisticexpialidocious" * 30,
    "pneumonoultramicroscopicsilicovolcanoconiosis" + "x" * 900, "ThisIsAVeryLongCamelCaseIdentifierWithoutSpaces" * 20,
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝓈𝒸𝓇𝒾𝓅𝓉 and 𠜎𠜱𠝹 (astral CJK)", "def f(x):\n    return x ** 2  # code\n\tif x: pass",
]


def paragraphs(general):
    """Every paragraph of the two books, in a fixed order."""
    out = []
    for sub in ("sotu", "moby-dick"):
        d = os.path.join(general, sub)
        for name in sorted(os.listdir(d)):
            if name.endswith(".txt"):
                with open(os.path.join(d, name), encoding="utf-8") as f:
                    out += [p.strip("\n") for p in f.read().split("\n\n") if p.strip()]
    return out


def corpus(shared):
    paras = paragraphs(os.path.join(shared, "data", "general-text"))
    rng = random.Random(20)
    lines = rng.sample(paras, 1700)
    # CL_Benchmark sentences with non-ASCII text (the tasks' real accents, symbols and scripts).
    bench = os.path.join(shared, "data", "cl_benchmark")
    non_ascii = []
    for group in sorted(os.listdir(bench)):
        if group == "configs" or not os.path.isdir(os.path.join(bench, group)):
            continue
        for task in sorted(os.listdir(os.path.join(bench, group))):
            path = os.path.join(bench, group, task, "train.json")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    non_ascii += [r["sentence"] for r in json.load(f) if any(ord(c) > 127 for c in r["sentence"])][:30]
    lines += non_ascii
    # Random mixtures of every script above, spaces and newlines: 150 strings.
    pool = "".join(EDGE_CASES[18:34]) + " \n\t  0123456789"
    lines += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 80))) for _ in range(150)]
    lines += EDGE_CASES
    return lines


def reference_tokenizers(a, work):
    """(name, directory for sculpt, tokenizer.json or tokenizer.model, AutoTokenizer directory)."""
    refs = []
    for name in ("gpt2", "llama2", "llama3"):
        d = os.path.join(a.shared, "models", f"{name}-tokenizer")
        refs.append((name, d, os.path.join(d, "tokenizer.json"), d))
    byte_dir = os.path.join(work, "byte-tokenizer")
    os.makedirs(byte_dir, exist_ok=True)
    run(a.tool, "byte-tokenizer", byte_dir)
    refs.append(("sculpt-byte", byte_dir, os.path.join(byte_dir, "tokenizer.json"), byte_dir))
    for name, d in (("sculpt-base-small", os.path.join(a.root, "models", "sculpt-base-small")),
                    ("stories260K", os.path.join(a.shared, "models", "stories260K", "hf"))):
        refs.append((name, d, os.path.join(d, "tokenizer.model"), d))
    # add_eos_token true, beside a tokenizer.model and beside a tokenizer.json.
    for name, src, file in (("sculpt-base-small-add-eos", os.path.join(a.root, "models", "sculpt-base-small"), "tokenizer.model"),
                            ("llama2-add-eos", os.path.join(a.shared, "models", "llama2-tokenizer"), "tokenizer.json")):
        d = os.path.join(work, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(src, d)
        with open(os.path.join(d, "tokenizer_config.json")) as f:
            cfg = json.load(f)
        cfg["add_eos_token"] = True
        with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        refs.append((name, d, os.path.join(d, file), d))
    return refs


def special_additions(plain, with_special):
    """The (prefix, suffix) transformers puts around `plain` when adding special tokens."""
    for k in range(len(with_special) - len(plain) + 1):
        if with_special[k:k + len(plain)] == plain:
            return with_special[:k], with_special[k + len(plain):]
    raise AssertionError(f"special tokens changed the text's ids: {plain[:10]} vs {with_special[:10]}")


def check_tokenizer(a, fail, name, sculpt_dir, tokenizer_json, auto_dir, lines):
    auto = transformers.AutoTokenizer.from_pretrained(auto_dir)
    # The format's own library is the reference for ids: tokenizers for tokenizer.json,
    # sentencepiece for tokenizer.model (transformers converts the latter, not always exactly).
    if tokenizer_json.endswith(".model"):
        sp = sentencepiece.SentencePieceProcessor(model_file=tokenizer_json)
        special = set(auto.all_special_ids)  # skip_special_tokens drops these (unk included)
        encode_ref = sp.encode
        decode_ref = lambda ids, skip: sp.decode([i for i in ids if not (skip and i in special)])  # control pieces never render
    else:
        raw = tokenizers.Tokenizer.from_file(tokenizer_json)
        encode_ref = lambda s: raw.encode(s, add_special_tokens=False).ids
        decode_ref = lambda ids, skip: auto.decode(ids, skip_special_tokens=skip)
    rows = [{"text": s, "ids": encode_ref(s)} for s in lines]
    # Single-token decodes across the vocabulary (byte pieces, specials, multi-byte pieces).
    singles = list(range(0, len(auto), 97)) + [auto.bos_token_id, auto.eos_token_id]
    singles = [i for i in singles if i is not None]
    rows += [{"text": "", "ids": [i]} for i in singles]
    inp, out = os.path.join(a.work, f"{name}.in.jsonl"), os.path.join(a.work, f"{name}.out.jsonl")
    write_jsonl(inp, rows)
    run(a.tool, "encode", sculpt_dir, inp, out)
    ours = read_jsonl(out)
    n_text = len(lines)
    layer_disagreements = 0
    for i, (r, o) in enumerate(zip(rows, ours)):
        where = f"{name} line {i} {r['text'][:60]!r}"
        if i < n_text:
            fail.check(o["ids"] == r["ids"], f"{name} encode", f"{where}\n   ours {o['ids'][:20]}\n    ref {r['ids'][:20]}")
            plain = auto.encode(r["text"], add_special_tokens=False)
            layer_disagreements += plain != r["ids"]
            # What transformers adds around the text (BOS/EOS) must be what sculpt adds.
            prefix, suffix = special_additions(plain, auto.encode(r["text"], add_special_tokens=True))
            expected = prefix + r["ids"] + suffix
            fail.check(o["model_ids"] == expected, f"{name} special tokens",
                       f"{where}\n   ours {o['model_ids'][:8]}…{o['model_ids'][-3:]}\n    ref {expected[:8]}…{expected[-3:]}")
        dec = decode_ref(r["ids"], False)
        fail.check(o["decoded"] == dec, f"{name} decode", f"{where} ids {r['ids'][:8]}\n   ours {o['decoded'][:80]!r}\n    ref {dec[:80]!r}")
        dec_skip = decode_ref(r["ids"], True)
        fail.check(o["decoded_skip"] == dec_skip, f"{name} decode skip-special",
                   f"{where}\n   ours {o['decoded_skip'][:80]!r}\n    ref {dec_skip[:80]!r}")
    print(f"{name}: {n_text} strings, {len(singles)} single-token decodes compared")
    if layer_disagreements:  # between the two references, not sculpt: reported, not failed
        print(f"note: {name}: transformers' AutoTokenizer disagrees with the file's own library on {layer_disagreements} strings "
              f"(it rebuilds the pipeline from its own defaults instead of the file's); sculpt follows the file")


def main():
    a = arguments()
    if not os.path.isdir(os.path.join(a.shared, "models", "llama3-tokenizer")):
        skip(f"{a.shared}/models is absent (the tokenizers live there)")
    lines = corpus(a.shared)
    assert len(lines) >= 2000, len(lines)
    print(f"{len(lines)} strings ({sum(any(ord(c) > 127 for c in s) for s in lines)} with non-ASCII)")
    fail = Failures()
    for ref in reference_tokenizers(a, a.work):
        check_tokenizer(a, fail, *ref, lines)
    fail.finish()


if __name__ == "__main__":
    main()
