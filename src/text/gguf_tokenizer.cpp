#include "sculpt/text/gguf_tokenizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/text/hf_tokenizer.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

using json = nlohmann::json;

namespace {

// llama.cpp's token types (llama_token_type).
constexpr int64_t kControl = 3, kUserDefined = 4;

// The pre-tokenizer regexes of llama.cpp's BPE vocabularies (llama-vocab.cpp), by tokenizer.ggml.pre.
const char* kLlama3Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";
const char* kQwen2Split =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}
json split_then_bytes(const char* regex) {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"}, {"pattern", {{"Regex", regex}}}, {"behavior", "Isolated"}, {"invert", false}},
            byte_level(false)}}};
}

// How llama.cpp cuts text before byte-level merges, for the `tokenizer.ggml.pre` values it ships.
json bpe_pre_tokenizer(const std::string& pre, const std::string& path) {
  static const std::vector<std::string> digits_then_gpt2 = {"smollm", "starcoder", "refact", "command-r",
                                                            "codeshell", "exaone", "minerva-7b"};
  static const std::vector<std::string> gpt2 = {"gpt2", "gpt-2", "mpt", "olmo", "jais", "trillion"};
  static const std::vector<std::string> llama3 = {"llama3", "llama-v3", "llama-bpe", "smaug-bpe", "falcon3",
                                                  "pixtral", "dbrx"};
  static const std::vector<std::string> qwen2 = {"qwen2", "deepseek-r1-qwen", "megrez"};
  auto in = [&](const std::vector<std::string>& names) { return std::find(names.begin(), names.end(), pre) != names.end(); };
  if (in(digits_then_gpt2))
    return {{"type", "Sequence"},
            {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)}}};
  if (in(llama3)) return split_then_bytes(kLlama3Split);
  if (in(qwen2)) return split_then_bytes(kQwen2Split);
  if (in(gpt2)) return byte_level(true);
  if (pre.empty() || pre == "default") {
    log_warn(path, ": no tokenizer.ggml.pre; splitting text as GPT-2 does (llama.cpp's own default differs on "
                   "punctuation runs)");
    return byte_level(true);
  }
  throw Error("tokenizer.ggml.pre '" + pre + "' is not supported", path,
              "sculpt knows smollm, starcoder, gpt2, llama3/llama-bpe and qwen2 splits; pass --tokenizer tokenizer.json");
}

// SentencePiece-BPE merges implied by the vocabulary: every split of a piece into two pieces of
// the vocabulary is a merge, ranked by the merged piece's score (best first), then by the lengths
// of the two parts, then by their ids -- the order transformers' generate_merges gives.
json merges_from_scores(const std::vector<std::string>& tokens, const std::vector<double>& scores,
                        const std::unordered_map<std::string, int32_t>& vocab) {
  struct Merge {
    double score;
    size_t left_len, right_len;  // in code points
    int32_t left, right;
  };
  std::vector<Merge> merges;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& piece = tokens[t];
    if (vocab.at(piece) != static_cast<int32_t>(t)) continue;  // a duplicate spelling
    const std::vector<std::string> chars = utf8_chars(piece);
    size_t offset = 0;
    for (size_t k = 1; k < chars.size(); ++k) {
      offset += chars[k - 1].size();
      auto l = vocab.find(piece.substr(0, offset)), r = vocab.find(piece.substr(offset));
      if (l != vocab.end() && r != vocab.end()) merges.push_back({scores[t], k, chars.size() - k, l->second, r->second});
    }
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.left_len != b.left_len) return a.left_len > b.left_len;
    if (a.right_len != b.right_len) return a.right_len > b.right_len;
    return a.left != b.left ? a.left < b.left : a.right < b.right;
  });
  json out = json::array();
  for (const Merge& m : merges) out.push_back({tokens[static_cast<size_t>(m.left)], tokens[static_cast<size_t>(m.right)]});
  return out;
}

std::vector<std::string> string_array(const GgufFile& f, const char* key) {
  const GgufValue& v = f.at(key);
  if (v.type != GgufValue::Type::array) throw Error(std::string("metadata key '") + key + "' is not an array", f.path());
  std::vector<std::string> out;
  out.reserve(v.array.size());
  for (const auto& e : v.array) out.push_back(e.as_string(key));
  return out;
}

std::vector<double> number_array(const GgufFile& f, const char* key, size_t n, double fallback) {
  const GgufValue* v = f.find(key);
  if (!v) return std::vector<double>(n, fallback);
  if (v->type != GgufValue::Type::array || v->array.size() != n)
    throw Error(std::string("metadata key '") + key + "' is not an array of " + std::to_string(n) + " numbers",
                f.path(), "it must have one entry per token");
  std::vector<double> out;
  out.reserve(n);
  for (const auto& e : v->array) out.push_back(e.as_number(key));
  return out;
}

int64_t optional_id(const GgufFile& f, const char* key, size_t vocab_size) {
  const GgufValue* v = f.find(key);
  if (!v) return -1;
  const int64_t id = v->as_int(key);
  check(id >= 0 && id < static_cast<int64_t>(vocab_size),
        std::string("metadata key '") + key + "' = " + std::to_string(id) + " is not a token id", f.path(),
        "the vocabulary has " + std::to_string(vocab_size) + " tokens");
  return id;
}

bool optional_bool(const GgufFile& f, const char* key, bool fallback) {
  const GgufValue* v = f.find(key);
  if (!v) return fallback;
  if (v->type != GgufValue::Type::boolean) throw Error(std::string("metadata key '") + key + "' is not a bool", f.path());
  return v->u != 0;
}

}  // namespace

std::string gguf_tokenizer_json(const GgufFile& f) {
  const std::string model = f.at("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  const std::string arch = f.find("general.architecture") ? f.at("general.architecture").as_string("general.architecture") : "";
  if (model != "gpt2" && model != "llama")
    throw Error("tokenizer.ggml.model '" + model + "' is not supported", f.path(),
                "sculpt builds gpt2 (byte-level BPE) and llama (SentencePiece) tokenizers; pass --tokenizer FILE");
  std::vector<std::string> tokens = string_array(f, "tokenizer.ggml.tokens");
  check(!tokens.empty(), "metadata key 'tokenizer.ggml.tokens' is empty", f.path());
  const std::vector<double> types = number_array(f, "tokenizer.ggml.token_type", tokens.size(), 1);
  const bool gemma = model == "llama" && arch.rfind("gemma", 0) == 0;
  // Gemma files store whitespace-only pieces with real spaces where the vocabulary means '▁'.
  if (gemma)
    for (auto& t : tokens)
      if (!t.empty() && t.find_first_not_of(' ') == std::string::npos) t = [&] {
          std::string s;
          for (size_t i = 0; i < t.size(); ++i) s += "\u2581";
          return s;
        }();

  std::unordered_map<std::string, int32_t> vocab;
  json vocab_json = json::object();
  for (size_t i = 0; i < tokens.size(); ++i)
    if (vocab.emplace(tokens[i], static_cast<int32_t>(i)).second) vocab_json[tokens[i]] = i;
  if (vocab.size() != tokens.size())
    log_debug(f.path(), ": ", tokens.size() - vocab.size(), " duplicate token spellings; the first id of each is used");

  json j;
  j["version"] = "1.0";
  json added = json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto type = static_cast<int64_t>(types[i]);
    if (type == kControl || type == kUserDefined)
      added.push_back({{"id", i}, {"content", tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", type == kControl}});
  }
  j["added_tokens"] = added;
  json bpe = {{"type", "BPE"}, {"vocab", vocab_json}};
  if (model == "gpt2") {
    const GgufValue* merges = f.find("tokenizer.ggml.merges");
    if (!merges) throw Error("metadata key 'tokenizer.ggml.merges' is missing", f.path(), "a gpt2 tokenizer needs its merges");
    bpe["merges"] = string_array(f, "tokenizer.ggml.merges");
    const std::string pre = f.find("tokenizer.ggml.pre") ? f.at("tokenizer.ggml.pre").as_string("tokenizer.ggml.pre") : "";
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = bpe_pre_tokenizer(pre, f.path());
    j["decoder"] = byte_level(true);
  } else {
    std::vector<double> scores;
    if (gemma) {  // Gemma's merge order is the order of the file, not its scores
      for (size_t i = 0; i < tokens.size(); ++i) scores.push_back(-static_cast<double>(i));
    } else {
      check(f.find("tokenizer.ggml.scores") != nullptr, "metadata key 'tokenizer.ggml.scores' is missing", f.path(),
            "a llama (SentencePiece) tokenizer needs a score per token");
      scores = number_array(f, "tokenizer.ggml.scores", tokens.size(), 0);
    }
    bpe["merges"] = merges_from_scores(tokens, scores, vocab);
    bpe["byte_fallback"] = true;
    bpe["fuse_unk"] = true;
    const int64_t unk = optional_id(f, "tokenizer.ggml.unknown_token_id", tokens.size());
    if (unk >= 0) bpe["unk_token"] = tokens[static_cast<size_t>(unk)];
    // llama.cpp writes a space before the text and after each special token unless told not to.
    const bool prefix = optional_bool(f, "tokenizer.ggml.add_space_prefix", !gemma);
    json replace = {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}};
    j["normalizer"] = prefix ? json{{"type", "Sequence"},
                                    {"normalizers", {{{"type", "Prepend"}, {"prepend", "\u2581"}}, replace}}}
                             : replace;
    j["pre_tokenizer"] = nullptr;
    json decoders = {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                     {{"type", "ByteFallback"}},
                     {{"type", "Fuse"}}};
    if (prefix) decoders.push_back({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}});
    j["decoder"] = {{"type", "Sequence"}, {"decoders", decoders}};
  }
  j["model"] = bpe;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::unique_ptr<Tokenizer> gguf_tokenizer(const GgufFile& f) {
  auto tok = std::make_unique<HfTokenizer>(HfTokenizer::FromText{}, gguf_tokenizer_json(f), f.path());
  const size_t n = static_cast<size_t>(tok->vocab_size());
  const int64_t bos = optional_id(f, "tokenizer.ggml.bos_token_id", n);
  const int64_t eos = optional_id(f, "tokenizer.ggml.eos_token_id", n);
  const std::string model = f.at("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  // llama.cpp adds BOS to SentencePiece vocabularies that do not say otherwise, not to BPE ones.
  const bool add_bos = optional_bool(f, "tokenizer.ggml.add_bos_token", model == "llama");
  const bool add_eos = optional_bool(f, "tokenizer.ggml.add_eos_token", false);
  tok->set_special_ids(static_cast<int32_t>(bos), static_cast<int32_t>(eos), add_bos && bos >= 0, add_eos && eos >= 0);
  return tok;
}

std::unique_ptr<Tokenizer> gguf_tokenizer(const std::string& path) { return gguf_tokenizer(GgufFile(path)); }

void write_gguf_tokenizer_files(const std::string& gguf_path, const std::string& dir) {
  const GgufFile f(gguf_path);
  const auto tok = gguf_tokenizer(f);
  json j = json::parse(gguf_tokenizer_json(f));
  // BOS / EOS around every text, as the metadata's add_bos_token / add_eos_token say.
  if (tok->adds_bos() || tok->adds_eos()) {
    json single = json::array(), special = json::object();
    auto add = [&](int32_t id) {
      const std::string piece = tok->id_to_piece(id);
      single.push_back({{"SpecialToken", {{"id", piece}, {"type_id", 0}}}});
      special[piece] = {{"id", piece}, {"ids", {id}}, {"tokens", {piece}}};
    };
    if (tok->adds_bos()) add(tok->bos_id());
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (tok->adds_eos()) add(tok->eos_id());
    json pair = single;
    pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
    j["post_processor"] = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special}};
  }
  write_text_atomic(dir + "/tokenizer.json", j.dump(-1, ' ', false, json::error_handler_t::replace));
  json cfg = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"clean_up_tokenization_spaces", false}};
  const size_t n = static_cast<size_t>(tok->vocab_size());
  for (const auto& [key, name] : {std::pair{"tokenizer.ggml.bos_token_id", "bos_token"},
                                  std::pair{"tokenizer.ggml.eos_token_id", "eos_token"},
                                  std::pair{"tokenizer.ggml.unknown_token_id", "unk_token"},
                                  std::pair{"tokenizer.ggml.padding_token_id", "pad_token"}}) {
    const int64_t id = optional_id(f, key, n);
    if (id >= 0) cfg[name] = tok->id_to_piece(static_cast<int32_t>(id));
  }
  write_text_atomic(dir + "/tokenizer_config.json", cfg.dump(2) + "\n");
  if (const GgufValue* t = f.find("tokenizer.chat_template"); t && t->type == GgufValue::Type::string)
    write_text_atomic(dir + "/chat_template.jinja", t->s);
}

}  // namespace sculpt
