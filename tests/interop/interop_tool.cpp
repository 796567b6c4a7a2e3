// sculpt's side of the interop checks (tests/interop/*.py): the Python scripts run the Hugging
// Face references in the reference environment and ask this tool for sculpt's answers on the
// same inputs. Every command reads and writes JSON Lines or safetensors, nothing else.
//   interop_tool encode TOKENIZER IN.jsonl OUT.jsonl
//       IN lines {"text": str, "ids": [reference ids]}; OUT lines {"ids": encode(text),
//       "model_ids": encode_for_model(text), "decoded": decode(ref ids), "decoded_skip": decode(ref ids, skip special)}
//   interop_tool chat TOKENIZER TEMPLATE IN.jsonl OUT.jsonl
//       IN lines {"messages": [...], "add_generation_prompt": bool}; OUT lines {"ids": [...]} (and
//       "text" when the model's own Jinja template rendered it), or {"error": ...} when it raised
//   interop_tool chat-examples MODEL DATA.jsonl OUT.jsonl
//       the training examples of a chat JSONL file with the model's own template: OUT lines
//       {"tokens": [...], "target": [0/1 per token]}
//   interop_tool jinja IN.jsonl OUT.jsonl
//       IN lines {"template": str, "context": {...}}; OUT lines {"text": str} or {"error": str}
//   interop_tool logits MODEL IN.jsonl OUT.safetensors
//       IN lines {"ids": [...]}; OUT tensors logits_<i> (T_i, V), fp32
//   interop_tool checkpoint-logits BASE_MODEL CHECKPOINT_DIR IN.jsonl OUT.safetensors
//       as logits, for the weights of a training checkpoint (restored as --resume restores them
//       onto BASE_MODEL's architecture): the model that was trained, independent of its export
//   interop_tool byte-tokenizer DIR        (writes sculpt's built-in byte tokenizer there)
//   interop_tool greedy MODEL IN.jsonl N OUT.jsonl
//       IN lines {"ids": [...]}; OUT lines {"ids": N greedy new tokens (no stop token)}
//   interop_tool gguf-dequant FILE.gguf OUT_DIR
//       every tensor dequantized to f32, one OUT_DIR/<i>.f32 raw file each (file order), plus
//       OUT_DIR/index.json [{"name", "type", "shape"}]
//   interop_tool gguf-metadata FILE.gguf OUT.json
//       {"version": v, "alignment": a, "metadata": {key: value}}, arrays as JSON arrays
#include <cstdio>
#include <fstream>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sculpt/data/readers.h"
#include "sculpt/sculpt.h"
#include "sculpt/optim/adamw.h"
#include "sculpt/text/byte_tokenizer.h"
#include "sculpt/text/chat_template.h"
#include "sculpt/train/checkpoint.h"

namespace {

using json = nlohmann::json;

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  sculpt::check(static_cast<bool>(in), "cannot open", path);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

void write_jsonl(const std::string& path, const std::vector<json>& rows) {
  std::ofstream out(path);
  // Invalid UTF-8 in a decode (a byte-fallback id alone) is written as U+FFFD, as Python reads it.
  for (const auto& r : rows) out << r.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
}

int encode(const std::string& tok_path, const std::string& in, const std::string& out) {
  auto tok = sculpt::load_tokenizer(tok_path);
  std::vector<json> rows;
  for (const auto& r : read_jsonl(in)) {
    const std::string text = r["text"].get<std::string>();
    const auto ref = r["ids"].get<std::vector<int32_t>>();
    json o;
    o["ids"] = tok->encode(text);
    o["model_ids"] = tok->encode_for_model(text);
    o["decoded"] = tok->decode(ref);
    o["decoded_skip"] = tok->decode(ref, /*skip_special=*/true);
    rows.push_back(std::move(o));
  }
  write_jsonl(out, rows);
  return 0;
}

// The model's own template through sculpt's Jinja evaluator when TEMPLATE is "auto" and the model
// carries one; otherwise the named (or detected) built-in template.
int chat(const std::string& tok_path, const std::string& tmpl_name, const std::string& in, const std::string& out) {
  auto tok = sculpt::load_tokenizer(tok_path);
  const std::optional<sculpt::JinjaTemplate> own =
      tmpl_name == "auto" ? sculpt::model_chat_template(tok_path) : std::nullopt;
  const sculpt::ChatTemplate builtin = tmpl_name == "auto" ? sculpt::chat_template_for_model(tok_path)
                                                           : sculpt::chat_template_from_name(tmpl_name);
  std::vector<json> rows;
  for (const auto& r : read_jsonl(in)) {
    std::vector<sculpt::ChatMessage> messages;
    for (const auto& m : r["messages"]) messages.push_back({m["role"], m["content"]});
    const bool cue = r["add_generation_prompt"].get<bool>();
    if (!own) {
      rows.push_back({{"ids", sculpt::chat_prompt_ids(messages, builtin, *tok, cue)}});
      continue;
    }
    try {
      const std::string text = sculpt::render_chat_template(*own, messages, *tok, cue);
      rows.push_back({{"ids", tok->encode(text)}, {"text", text}});
    } catch (const sculpt::Error& e) {  // e.g. the template's raise_exception
      rows.push_back({{"error", e.one_line()}});
    }
  }
  write_jsonl(out, rows);
  return 0;
}

// The training examples sculpt builds from a chat JSONL file with the model's template (auto).
int chat_examples(const std::string& model, const std::string& data, const std::string& out) {
  auto tok = sculpt::load_tokenizer(model);
  sculpt::ReaderOptions o;
  o.format = sculpt::DataFormat::chat;
  o.model_path = model;
  o.example.max_seq_len = 1 << 20;
  std::vector<json> rows;
  for (const auto& e : sculpt::read_dataset(data, *tok, o).examples) rows.push_back({{"tokens", e.tokens}, {"target", e.target}});
  write_jsonl(out, rows);
  return 0;
}

// IN lines {"template": str, "context": {...}}; OUT lines {"text": str} or {"error": str}.
int jinja(const std::string& in, const std::string& out) {
  std::vector<json> rows;
  std::ifstream lines(in);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const auto r = nlohmann::ordered_json::parse(line);  // the context's dicts keep their order
    try {
      const sculpt::JinjaTemplate t(r["template"].get<std::string>(), "template");
      rows.push_back({{"text", t.render(r["context"])}});
    } catch (const sculpt::Error& e) {
      rows.push_back({{"error", e.one_line()}});
    }
  }
  write_jsonl(out, rows);
  return 0;
}

int logits_of(const sculpt::LlamaModel& model, const std::string& in, const std::string& out) {
  std::vector<sculpt::Tensor> results;  // logits_i: (T_i, V)
  for (const auto& r : read_jsonl(in)) {
    const auto ids = r["ids"].get<std::vector<int32_t>>();
    const auto seq = static_cast<int64_t>(ids.size());
    sculpt::LlamaForward forward(model, 1, seq, seq);
    sculpt::Tensor all = forward.logits_all(ids, 1, seq);  // (1, T, V)
    results.push_back(all.reshape({seq, model.config().vocab_size}));
  }
  std::vector<sculpt::TensorToWrite> tensors;
  std::vector<std::string> names;
  for (size_t i = 0; i < results.size(); ++i) names.push_back("logits_" + std::to_string(i));
  for (size_t i = 0; i < results.size(); ++i) tensors.push_back({names[i], &results[i]});
  sculpt::write_safetensors(out, tensors);
  return 0;
}

int logits(const std::string& model_path, const std::string& in, const std::string& out) {
  return logits_of(sculpt::load_model(model_path), in, out);
}

int checkpoint_logits(const std::string& base, const std::string& checkpoint, const std::string& in,
                      const std::string& out) {
  sculpt::LlamaModel model = sculpt::load_model(base);
  sculpt::AdamW optimizer(model.parameters(), sculpt::AdamWOptions{});  // receives the moments, unused
  sculpt::load_checkpoint(checkpoint, model, optimizer);
  return logits_of(model, in, out);
}

int greedy(const std::string& model_path, const std::string& in, int64_t n, const std::string& out) {
  const sculpt::LlamaModel model = sculpt::load_model(model_path);
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& r : read_jsonl(in)) prompts.push_back(r["ids"].get<std::vector<int32_t>>());
  sculpt::GenerationOptions options;
  options.max_new_tokens = n;  // no stop tokens: transformers' side runs with eos_token_id=None
  std::vector<json> rows;
  for (const auto& ids : sculpt::generate(model, prompts, options)) rows.push_back({{"ids", ids}});
  write_jsonl(out, rows);
  return 0;
}

json gguf_value_json(const sculpt::GgufValue& v) {
  using T = sculpt::GgufValue::Type;
  switch (v.type) {
    case T::u8: case T::u16: case T::u32: case T::u64: return v.u;
    case T::i8: case T::i16: case T::i32: case T::i64: return v.i;
    case T::boolean: return v.u != 0;
    case T::f32: case T::f64: return v.f;
    case T::string: return v.s;
    case T::array: {
      json a = json::array();
      for (const auto& e : v.array) a.push_back(gguf_value_json(e));
      return a;
    }
  }
  return nullptr;
}

int gguf_metadata(const std::string& path, const std::string& out) {
  const sculpt::GgufFile file(path);
  json meta = json::object();
  for (const auto& [key, value] : file.metadata()) meta[key] = gguf_value_json(value);
  std::ofstream(out) << json{{"version", file.version()}, {"alignment", file.alignment()}, {"metadata", meta}}
                            .dump(-1, ' ', false, json::error_handler_t::replace);
  return 0;
}

int gguf_dequant(const std::string& path, const std::string& out_dir) {
  const sculpt::GgufFile file(path);
  json index = json::array();
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const sculpt::GgufTensorInfo& info = file.tensors()[i];
    const sculpt::Tensor t = file.read_f32(info);
    std::ofstream out(out_dir + "/" + std::to_string(i) + ".f32", std::ios::binary);
    out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.numel() * 4));
    sculpt::check(static_cast<bool>(out), "cannot write", out_dir);
    index.push_back({{"name", info.name}, {"type", sculpt::ggml_type_name(static_cast<uint32_t>(info.type))},
                     {"shape", info.shape().to_vector()}});
  }
  std::ofstream(out_dir + "/index.json") << index.dump();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 4 && a[0] == "encode") return encode(a[1], a[2], a[3]);
    if (a.size() == 5 && a[0] == "chat") return chat(a[1], a[2], a[3], a[4]);
    if (a.size() == 3 && a[0] == "jinja") return jinja(a[1], a[2]);
    if (a.size() == 4 && a[0] == "chat-examples") return chat_examples(a[1], a[2], a[3]);
    if (a.size() == 2 && a[0] == "byte-tokenizer") return sculpt::write_byte_tokenizer(a[1]), 0;
    if (a.size() == 4 && a[0] == "logits") return logits(a[1], a[2], a[3]);
    if (a.size() == 5 && a[0] == "checkpoint-logits") return checkpoint_logits(a[1], a[2], a[3], a[4]);
    if (a.size() == 3 && a[0] == "gguf-metadata") return gguf_metadata(a[1], a[2]);
    if (a.size() == 3 && a[0] == "gguf-dequant") return gguf_dequant(a[1], a[2]);
    if (a.size() == 5 && a[0] == "greedy") return greedy(a[1], a[2], std::stoll(a[3]), a[4]);
  } catch (const sculpt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.one_line().c_str());
    return 1;
  }
  std::fprintf(stderr, "usage: interop_tool encode|chat|logits|greedy ... (see the header of interop_tool.cpp)\n");
  return 2;
}
