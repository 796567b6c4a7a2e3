"""sculpt's Jinja evaluator and chat templates against transformers.

1. Jinja: every construct sculpt evaluates (whitespace control, trim_blocks / lstrip_blocks, loops
   and loop.*, scoping, namespace, filters, tests, methods, operators, literals, printing), each in
   a small template rendered by transformers' own environment (the one apply_chat_template
   compiles: sandboxed, trim_blocks, lstrip_blocks, loop controls, its tojson and
   raise_exception) and by sculpt: the same text, or both raise. Constructs sculpt does not
   evaluate are errors naming them, never a different text.
2. Chat templates: the shared Llama 3 template (which always cues the assistant), the same
   template honouring add_generation_prompt saved by transformers 5 as chat_template.jinja, a
   Llama 2 template (raise_exception on roles that do not alternate, slicing, strip), a multi-line
   ChatML template with whitespace control, namespace and a default system message, a template
   that relies on trim_blocks / lstrip_blocks alone, and SmolLM2's own from its GGUF when
   scripts/get-models.sh has run: 24 conversations (and 2 that break the Llama 2 template's rule),
   each with and without the generation prompt, rendered by sculpt to the text and the ids of
   apply_chat_template; where the template raises, both raise. The ids are those of the
   tokenizer file's own library (`tokenizers`) on that text, as in check_tokenizers.py: where
   transformers rebuilds the pipeline (Llama 2's legacy prefix space after a special token), its
   apply_chat_template ids differ from the file's; that is counted and reported, not failed.
3. Training examples: the conversations that end with the assistant, as a chat JSONL file, read by
   sculpt with the model's own template: the ids equal the file's encoding of apply_chat_template's
   text (trailing whitespace after the last turn aside), and the targets equal transformers'
   assistant mask (return_assistant_tokens_mask) on the template with {% generation %} markers. A
   template whose generation prompt does not begin its assistant turns is refused, saying why.
"""
import json
import os
import random
import shutil
import subprocess

import tokenizers
import transformers
from transformers.utils.chat_template_utils import _compile_jinja_template

from common import Failures, arguments, read_jsonl, run, skip, write_jsonl

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "  Hi there \n"},
            {"role": "assistant", "content": "Hello! 😀"}, {"role": "user", "content": "Bye"}]

# (template, extra context): rendered with messages=MESSAGES, bos_token, eos_token.
SNIPPETS = [
    ("{{ messages[0].content }}|{{ messages[1]['content'] }}|{{ messages[-1].role }}", {}),
    ("a  {{- ' b ' -}}  c\n  {%- if true -%}  d  {%- endif %}  e", {}),
    ("line1\n  {% if true %}\n  kept\n  {% endif %}\nline2\n", {}),
    ("x {% if true %}y{% endif %}\n z {%+ if true %}w{% endif %}", {}),
    ("{# a comment #}\n  {# indented comment #}\nafter", {}),
    ("{% for m in messages %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/"
     "{{ loop.length }}/{{ loop.first }}/{{ loop.last }}/{{ loop.previtem.role }};{% endfor %}", {}),
    ("{% for m in [] %}x{% else %}empty{% endfor %}", {}),
    ("{% for m in messages if m.role != 'system' %}{{ loop.index }}{{ m.role }} {% endfor %}", {}),
    ("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ i }}"
     "{% endfor %}", {}),
    ("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}", {}),
    ("{% if true %}{% set y = 'set in if' %}{% endif %}{{ y }}", {}),
    ("{% set ns = namespace(n=0, seen=false) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
     "{% if m.role == 'user' %}{% set ns.seen = true %}{% endif %}{% endfor %}{{ ns.n }} {{ ns.seen }}", {}),
    ("{% for k, v in {'b': 1, 'a': [1, 2]}.items() %}{{ k }}={{ v }};{% endfor %}{% for k, v in {'z': 0}|items %}"
     "{{ k }}{{ v }}{% endfor %}", {}),
    ("{{ {'a': 1, 'b': 'x'}.get('b') }}{{ {'a': 1}.get('c', 'dflt') }}{% for k in {'a': 1, 'b': 2}.keys() %}{{ k }}{% endfor %}"
     "{% for v in {'a': 1, 'b': 2}.values() %}{{ v }}{% endfor %}", {}),
    ("{{ messages[1].content|trim }}|{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  a'.lstrip() }}|"
     "{{ 'a  '.rstrip() }}|", {}),
    ("{{ 'a,b,,c'.split(',') }}{{ '  a  b \n c '.split() }}{{ 'hello'.startswith('he') }}{{ 'hello'.endswith('lo') }}"
     "{{ 'a-b-c'.replace('-', '+') }}{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}{{ ', '.join(['x', 'y']) }}", {}),
    ("{{ messages|length }} {{ 'héllo'|length }} {{ 'héllo'[1] }} {{ 'héllo'[::-1] }} {{ 'abcdef'[1:4] }}"
     " {{ 'abcdef'[-2:] }} {{ [1, 2, 3, 4, 5][::2] }} {{ [1, 2, 3][:-1] }} {{ [1, 2, 3][5] }}.", {}),
    ("{{ 'word'|upper }}{{ 'WORD'|lower }}{{ 'wORD'|capitalize }}{{ 42|string }}{{ '17'|int + 1 }}{{ -3|abs }}"
     "{{ [3, 1, 2]|reverse|list }}{{ [1, 2]|first }}{{ [1, 2]|last }}{{ 'a-b'|replace('-', '_') }}", {}),
    ("{{ missing|default('d') }}{{ ''|default('e', true) }}{{ ''|default('f') }}{{ none|default('g') }}", {}),
    ("{{ messages|selectattr('role', 'equalto', 'user')|list|length }} {{ messages|rejectattr('role', 'equalto', 'user')"
     "|map(attribute='role')|join(', ') }} {{ messages|map(attribute='role')|join }}", {}),
    ("{{ messages[2]|tojson }}\n{{ {'k': [1, 2.5, none, true, 'ü\"\\n']}|tojson(indent=2) }}\n{{ {'b': 1, 'a': 2}|tojson }}", {}),
    ("{{ x is defined }}{{ messages is defined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}"
     "{{ [] is sequence }}{{ 3 is number }}{{ 3 is integer }}{{ 3.0 is float }}{{ 6 is divisibleby(3) }}"
     "{{ 3 is odd }}{{ 4 is even }}{{ 1 is not none }}{{ true is true }}{{ false is boolean }}", {}),
    ("{{ 7 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 - 4 }} {{ 0.1 + 0.2 }}"
     " {{ 1e20 }} {{ 2.5 * 2 }} {{ 10 - 0.5 }} {{ 3 * 'ab' }}{{ 'ab' * 2 }}", {}),
    ("{{ 1 < 2 }}{{ 'a' < 'b' }}{{ 2 >= 2.0 }}{{ 1 == 1.0 }}{{ 'a' != 'b' }}{{ 'x' in 'xyz' }}{{ 'a' in {'a': 1} }}"
     "{{ 3 not in [1, 2] }}{{ messages[0] in messages }}", {}),
    ("{{ true and 'x' }}|{{ none or 0 }}|{{ not messages }}|{{ 1 if false }}|{{ 'y' if messages else 'n' }}|"
     "{{ 'a' ~ 1 ~ none ~ true }}|{{ 'a' + 'b' }}|{{ [1] + [2] }}", {}),
    ("{{ none }} {{ true }} {{ false }} {{ 3 }} {{ 1.0 }} {{ [1, 'a', \"b'c\", none] }} {{ {'k': 'v', 'n': 1} }}"
     " {{ \"quote's\" }} {{ 'tab\\tnew\\nline' }}", {}),
    ("{{ bos_token }}{% for m in messages %}{{ m.role }}{% if not loop.last %}{{ eos_token }}{% endif %}{% endfor %}", {}),
    ("{% if messages[0].role == 'system' %}sys{% elif messages[0].role == 'user' %}usr{% else %}other{% endif %}", {}),
    ("{%- set first = messages[0] -%}\n{%- if first['role'] == 'system' -%}\n  {{- first['content'] -}}\n{%- endif -%}\n", {}),
    ("{{ tools is none }}{{ documents is none }}{{ custom }}", {"tools": None, "documents": None, "custom": "kw"}),
    ("{{ raise_exception('no system message allowed') }}", {}),
    ("{% for m in messages %}{% if m.role == 'assistant' %}{{ raise_exception('no assistant') }}{% endif %}{% endfor %}", {}),
    ("{{ 'a' + 1 }}", {}),
    ("{{ undefined_thing.attribute }}", {}),
    ("{% generation %}inside {{ messages|length }}{% endgeneration %}", {}),
    ("{{ namespace(a=1).a }} {{ range(3)|list }} {{ range(1, 7, 2)|list }}", {}),
]

# Constructs sculpt does not evaluate: jinja2 renders them; sculpt must refuse by name.
UNSUPPORTED = [
    ("{% macro greet(n) %}hi {{ n }}{% endmacro %}{{ greet('x') }}", "macro"),
    ("{% filter upper %}text{% endfilter %}", "filter"),
    ("{% set x %}block{% endset %}{{ x }}", "block assignments"),
    ("{{ 'x'|center(9) }}", "center"),
    ("{{ 'a b'.title() }}", "title"),
]

LLAMA3_CUES = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
               "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
               "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
               "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
               "{% endif %}")
LLAMA2 = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
          "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
          "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
          "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
          "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
          "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
          "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
          "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")
CHATML_MULTILINE = """{%- if messages[0]['role'] == 'system' %}
    {%- set system = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set system = 'You are a helpful assistant.' %}
    {%- set loop_messages = messages %}
{%- endif %}
{{- '<|im_start|>system\\n' + system + '<|im_end|>\\n' }}
{%- set ns = namespace(turns=0) %}
{%- for message in loop_messages %}
    {%- if message.role == 'user' %}
        {%- set ns.turns = ns.turns + 1 %}
    {%- endif %}
    {{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>' }}
    {%- if not loop.last %}{{ '\\n' }}{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '\\n<|im_start|>assistant\\n' }}
{%- endif %}
"""
# The multi-line ChatML template with transformers' {% generation %} markers around what the
# assistant says (its end-of-turn marker included): apply_chat_template then returns the
# assistant mask, the independent reference for the targets of sculpt's training examples.
CHATML_GENERATION = CHATML_MULTILINE.replace(
    "{{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>' }}",
    "{{- '<|im_start|>' + message.role + '\\n' }}{%- if message.role == 'assistant' %}{% generation %}"
    "{{- message.content | trim + '<|im_end|>' }}{% endgeneration %}{%- else %}{{- message.content | trim + "
    "'<|im_end|>' }}{%- endif %}")
assert CHATML_GENERATION != CHATML_MULTILINE
TRIM_LSTRIP = """{% for message in messages %}
  {% if message['role'] == 'user' %}
User: {{ message['content'] }}
  {% elif message['role'] == 'assistant' %}
Assistant: {{ message['content'] }}{{ eos_token }}
  {% else %}
System: {{ message['content'] }}
  {% endif %}
{% endfor %}
{% if add_generation_prompt %}
Assistant:
{% endif %}
"""

SYSTEMS = ["You are a helpful assistant.", "  Answer in one word.  ", "Réponds en français 🇫🇷"]
TURNS = [("What is the capital of France?", "Paris."), ("And of Japan?", " Tokyo, 東京.\n"),
         ("Count to three.", "1, 2, 3"), ("Write a haiku", "An old silent pond\nA frog jumps into the pond\nSplash! Silence again."),
         ("", "(empty question)"), ("Tabs\tand\nnewlines\n\n", "ok")]


def conversations():
    convs = []
    rng = random.Random(3)
    for k in range(24):
        msgs = [{"role": "system", "content": SYSTEMS[k % 3]}] if k % 3 != 2 else []
        turns = rng.sample(TURNS, 1 + k % 4)
        for j, (q, ans) in enumerate(turns):
            msgs.append({"role": "user", "content": q})
            if j < len(turns) - 1 or k % 2 == 0:  # half the conversations end on the user's turn
                msgs.append({"role": "assistant", "content": ans})
        convs.append(msgs)
    # Two that break Llama 2's alternation rule.
    convs.append([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    convs.append([{"role": "assistant", "content": "first"}, {"role": "user", "content": "q"}])
    return convs


def reference_render(template, context):
    try:
        return {"text": _compile_jinja_template(template).render(**context)}
    except Exception as e:  # noqa: BLE001 - any jinja2 error counts as "raises"
        return {"error": f"{type(e).__name__}: {e}"}


def check_jinja(a, fail):
    rows = []
    for template, extra in SNIPPETS:
        rows.append({"template": template, "context": {"messages": MESSAGES, "bos_token": "<s>", "eos_token": "</s>", **extra}})
    for template, _ in UNSUPPORTED:
        rows.append({"template": template, "context": {}})
    inp, out = os.path.join(a.work, "jinja.in.jsonl"), os.path.join(a.work, "jinja.out.jsonl")
    write_jsonl(inp, rows)
    run(a.tool, "jinja", inp, out)
    ours = read_jsonl(out)
    for i, (row, o) in enumerate(zip(rows[:len(SNIPPETS)], ours)):
        ref = reference_render(row["template"], row["context"])
        if "error" in ref:
            fail.check("error" in o, "jinja raises", f"snippet {i}: jinja2 raised {ref['error']!r}, sculpt gave {o!r}")
        else:
            fail.check(o.get("text") == ref["text"], "jinja text",
                       f"snippet {i} {row['template'][:70]!r}\n   ours {o!r}\n    ref {ref['text']!r}")
    for (template, construct), o in zip(UNSUPPORTED, ours[len(SNIPPETS):]):
        ref = reference_render(template, {})
        fail.check("text" in ref, "jinja2 renders the unsupported construct", f"{template!r}: {ref}")
        fail.check("error" in o and construct in o["error"], "unsupported construct named",
                   f"{template!r}: sculpt gave {o!r}")
    fail.check(len(ours) == len(rows), "jinja rows", f"{len(ours)} answers for {len(rows)} templates")
    print(f"jinja: {len(SNIPPETS)} templates compared with transformers' environment, "
          f"{len(UNSUPPORTED)} unsupported constructs refused by name")


def template_dirs(a):
    """(name, sculpt's model path, AutoTokenizer arguments, compare ids?)"""
    shared = os.path.join(a.shared, "models")
    out = [("llama3 (always cues)", os.path.join(shared, "llama3-tokenizer"), {"pretrained_model_name_or_path": os.path.join(shared, "llama3-tokenizer")}, True)]
    for name, base, template in (("llama3 honouring add_generation_prompt", "llama3", LLAMA3_CUES),
                                 ("llama2", "llama2", LLAMA2),
                                 ("chatml multi-line", "llama3", CHATML_MULTILINE),
                                 ("chatml with generation markers", "llama3", CHATML_GENERATION),
                                 ("trim_blocks and lstrip_blocks", "llama2", TRIM_LSTRIP)):
        d = os.path.join(a.work, name.replace(" ", "-"))
        shutil.rmtree(d, ignore_errors=True)
        tok = transformers.AutoTokenizer.from_pretrained(os.path.join(shared, f"{base}-tokenizer"))
        tok.chat_template = template
        if "chatml" in name:  # as in real ChatML models, its markers are special tokens of the vocabulary
            tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
        tok.save_pretrained(d)  # transformers 5 writes chat_template.jinja
        out.append((name, d, {"pretrained_model_name_or_path": d}, True))
    gguf = os.path.join(a.root, "models", "SmolLM2-135M-Instruct.Q4_1.gguf")
    if os.path.exists(gguf):
        # transformers' GGUF tokenizer splits digits differently (see check_gguf_model.py): texts only.
        out.append(("SmolLM2 (GGUF)", gguf, {"pretrained_model_name_or_path": os.path.dirname(gguf),
                                             "gguf_file": os.path.basename(gguf)}, False))
    else:
        print(f"note: {gguf} is absent (bash scripts/get-models.sh): SmolLM2's template not compared")
    return out


def check_templates(a, fail):
    convs = conversations()
    rows = [{"messages": c, "add_generation_prompt": cue} for c in convs for cue in (False, True)]
    inp = os.path.join(a.work, "chat.in.jsonl")
    write_jsonl(inp, rows)
    for name, path, auto_args, compare_ids in template_dirs(a):
        auto = transformers.AutoTokenizer.from_pretrained(**auto_args)
        raw = tokenizers.Tokenizer.from_file(os.path.join(path, "tokenizer.json")) if compare_ids else None
        out = os.path.join(a.work, f"chat.{name.replace(' ', '-')}.out.jsonl")
        run(a.tool, "chat", path, "auto", inp, out)
        ours = read_jsonl(out)
        fail.check(len(ours) == len(rows), f"{name} rows", f"{len(ours)} answers for {len(rows)}")
        raised = layer_disagreements = 0
        for i, (r, o) in enumerate(zip(rows, ours)):
            where = f"{name}: conversation {i // 2} (generation prompt {r['add_generation_prompt']})"
            try:
                text = auto.apply_chat_template(r["messages"], add_generation_prompt=r["add_generation_prompt"], tokenize=False)
                ids = auto.apply_chat_template(r["messages"], add_generation_prompt=r["add_generation_prompt"], tokenize=True)
                if hasattr(ids, "keys"):
                    ids = ids["input_ids"]
            except Exception as e:  # noqa: BLE001 - the template's raise_exception
                raised += 1
                fail.check("error" in o, f"{name} raises", f"{where}: transformers raised {e}, sculpt gave {str(o)[:200]}")
                continue
            fail.check(o.get("text") == text, f"{name} text", f"{where}\n   ours {o.get('text', o)!r}\n    ref {text!r}")
            if compare_ids:
                ref_ids = raw.encode(text, add_special_tokens=False).ids
                layer_disagreements += list(ids) != ref_ids
                fail.check(o.get("ids") == ref_ids, f"{name} ids", f"{where}\n   ours {o.get('ids')}\n    ref {ref_ids}")
        print(f"{name}: {len(rows)} renderings compared ({raised} raised in both)")
        if layer_disagreements:
            print(f"note: {name}: apply_chat_template's ids differ from the tokenizer file's own library on "
                  f"{layer_disagreements} renderings (transformers rebuilds the pipeline); sculpt follows the file")


def check_training_examples(a, fail):
    """Chat JSONL -> training examples with the model's own template: ids equal to the tokenizer
    file's encoding of apply_chat_template's text (trailing whitespace after the last turn aside),
    targets equal to transformers' assistant mask where the template marks it."""
    convs = [c for c in conversations() if c[-1]["role"] == "assistant" and c[0]["role"] != "assistant"]
    data = os.path.join(a.work, "train-chat.jsonl")
    write_jsonl(data, [{"messages": c} for c in convs])
    for name, path, auto_args, compare_ids in template_dirs(a):
        if not compare_ids or "always" in name:  # an always-cueing template cannot mark turns (see below)
            continue
        auto = transformers.AutoTokenizer.from_pretrained(**auto_args)
        raw = tokenizers.Tokenizer.from_file(os.path.join(path, "tokenizer.json"))
        out = os.path.join(a.work, f"examples.{name.replace(' ', '-')}.jsonl")
        # A template whose generation prompt is not how it begins an assistant turn (e.g. a cue
        # "Assistant:\n" before turns rendered "Assistant: ...") leaves no exact place to start the
        # targets: sculpt must refuse it, saying so.
        prefixes = all(auto.apply_chat_template(c[:i + 1], tokenize=False).startswith(
            auto.apply_chat_template(c[:i], tokenize=False, add_generation_prompt=True))
            for c in convs for i, m in enumerate(c) if m["role"] == "assistant")
        r = subprocess.run([a.tool, "chat-examples", path, data, out], capture_output=True, text=True)
        if not prefixes:
            fail.check(r.returncode != 0 and "as a prefix" in r.stderr, f"{name} refused for training",
                       f"exit {r.returncode}: {r.stderr[-300:]}")
            print(f"{name}: refused for training, as its generation prompt does not begin its assistant turns")
            continue
        fail.check(r.returncode == 0, f"{name} examples", r.stderr[-300:])
        ours = read_jsonl(out) if r.returncode == 0 else []
        fail.check(len(ours) == len(convs), f"{name} examples", f"{len(ours)} examples for {len(convs)} records")
        masks = 0
        for i, (c, o) in enumerate(zip(convs, ours)):
            text = auto.apply_chat_template(c, tokenize=False)
            ref = raw.encode(text, add_special_tokens=False).ids
            n = len(o["tokens"])
            tail = auto.decode(ref[n:]) if ref[:n] == o["tokens"] else None
            fail.check(tail is not None and tail.strip() == "", f"{name} example ids",
                       f"record {i}: ours {o['tokens'][:12]}… ({n}) vs ref {ref[:12]}… ({len(ref)})")
            if name == "chatml with generation markers":
                enc = auto.apply_chat_template(c, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
                mask = list(enc["assistant_masks"])[:n]
                masks += 1
                fail.check(o["target"] == mask, f"{name} example targets",
                           f"record {i}:\n   ours {o['target']}\n    ref {mask}")
        print(f"{name}: {len(convs)} training examples compared ({masks} target masks against transformers' assistant mask)")


def main():
    a = arguments()
    if not os.path.isdir(os.path.join(a.shared, "models", "llama3-tokenizer")):
        skip(f"{a.shared}/models is absent (the tokenizers live there)")
    fail = Failures()
    check_jinja(a, fail)
    check_templates(a, fail)
    check_training_examples(a, fail)
    fail.finish()


if __name__ == "__main__":
    main()
