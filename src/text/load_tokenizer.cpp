#include <filesystem>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/io/gguf.h"
#include "sculpt/text/gguf_tokenizer.h"
#include "sculpt/text/hf_tokenizer.h"
#include "sculpt/text/llama2c_tokenizer.h"
#include "sculpt/text/sentencepiece_tokenizer.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<int32_t> Tokenizer::encode_for_model(const std::string& text) const {
  std::vector<int32_t> ids;
  if (add_bos_ && bos_id_ >= 0) ids.push_back(bos_id_);
  auto body = encode(text);
  ids.insert(ids.end(), body.begin(), body.end());
  if (add_eos_ && eos_id_ >= 0) ids.push_back(eos_id_);
  return ids;
}

namespace {

// `name` in `dir` (confined to it), parsed; null when absent or not JSON.
json read_json_or_null(const fs::path& dir, const char* name) {
  const fs::path p = confined_path(dir.string(), name, dir.string());
  if (!fs::exists(p)) return json();
  json j = json::parse(read_text_file(p.string()), nullptr, false);
  return j.is_discarded() ? json() : j;
}

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::string token_name(const json& cfg, const char* key) {
  if (!cfg.is_object() || !cfg.contains(key)) return "";
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return "";
}

// BOS/EOS from tokenizer_config.json, falling back to config.json ids. Whether they are added
// is tokenizer.json's post-processor's business alone: transformers (5.x) drops
// tokenizer_config.json's add_bos_token / add_eos_token when a tokenizer.json exists.
void configure_hf_specials(HfTokenizer& tok, const fs::path& dir) {
  const json cfg = read_json_or_null(dir, "tokenizer_config.json");
  const json model_cfg = read_json_or_null(dir, "config.json");
  auto id_from = [&](const char* name_key, const char* config_key) {
    int32_t id = -1;
    std::string name = token_name(cfg, name_key);
    if (!name.empty()) id = tok.token_to_id(name);
    if (id < 0 && model_cfg.is_object() && model_cfg.contains(config_key) && model_cfg[config_key].is_number_integer())
      id = model_cfg[config_key].get<int32_t>();
    return id;
  };
  int32_t bos = id_from("bos_token", "bos_token_id");
  int32_t eos = id_from("eos_token", "eos_token_id");
  if (bos < 0 && tok.template_adds_bos()) bos = tok.template_bos();
  if (eos < 0 && tok.template_adds_eos()) eos = tok.template_eos();
  tok.set_special_ids(bos, eos, tok.template_adds_bos() && bos >= 0, tok.template_adds_eos() && eos >= 0);
  // clean_up_tokenization_spaces is not applied: transformers (5.x) ignores it for BPE tokenizers,
  // the only kind tokenizer.json loads here, since stripping the space before punctuation
  // corrupts what BPE decodes (tests/interop/check_tokenizers.py holds decode to transformers').
}

void configure_sp_specials(SentencePieceTokenizer& tok, const fs::path& dir) {
  const json cfg = read_json_or_null(dir, "tokenizer_config.json");
  // Without a tokenizer.json, transformers builds the tokenizer from tokenizer.model with these.
  auto flag = [&](const char* key, bool fallback) {
    return cfg.is_object() && cfg.contains(key) && cfg[key].is_boolean() ? cfg[key].get<bool>() : fallback;
  };
  tok.set_special_ids(tok.bos_id(), tok.eos_id(), flag("add_bos_token", tok.adds_bos()) && tok.bos_id() >= 0,
                      flag("add_eos_token", false) && tok.eos_id() >= 0);
}

std::unique_ptr<Tokenizer> load_file(const fs::path& file, bool prefer_sentencepiece = true) {
  const std::string name = file.filename().string();
  const fs::path dir = file.has_parent_path() ? file.parent_path() : fs::path(".");
  if (is_gguf_file(file.string())) return gguf_tokenizer(file.string());
  if (file.extension() == ".json") {
    auto tok = std::make_unique<HfTokenizer>(file.string());
    configure_hf_specials(*tok, dir);
    return tok;
  }
  if (file.extension() == ".model") {
    auto tok = std::make_unique<SentencePieceTokenizer>(file.string());
    configure_sp_specials(*tok, dir);
    return tok;
  }
  if (file.extension() == ".bin") {
    // tokenizer.bin is an export of a SentencePiece model; when that model sits beside it
    // (tok512.bin + tok512.model) and the user did not name the .bin, use it: it also carries the normaliser the model was trained with.
    fs::path sentencepiece_model = file;
    sentencepiece_model.replace_extension(".model");
    if (prefer_sentencepiece && fs::exists(sentencepiece_model))
      return load_file(confined_path(dir.string(), sentencepiece_model.filename().string(), file.string()));
    return std::make_unique<Llama2cTokenizer>(file.string());
  }
  throw Error("unrecognised tokenizer file", file.string(),
              "expected tokenizer.json, a SentencePiece .model, a GGUF model or a llama2.c tokenizer .bin");
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_path, const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    check(fs::exists(explicit_path), "no such tokenizer file", explicit_path);
    return load_file(explicit_path, /*prefer_sentencepiece=*/false);
  }
  fs::path p(model_path);
  if (fs::is_regular_file(p) && is_gguf_file(model_path)) return gguf_tokenizer(model_path);  // tokenizer.ggml.*
  if (fs::is_directory(p)) {
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer.bin"})
      if (fs::exists(p / name)) return load_file(confined_path(model_path, name, model_path));
    throw Error("no tokenizer.json, tokenizer.model or tokenizer.bin", model_path, "pass --tokenizer FILE");
  }
  // A llama2.c checkpoint: tokenizer.bin beside it, else the single tok*.bin there.
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  if (fs::exists(dir / "tokenizer.bin")) return load_file(confined_path(dir.string(), "tokenizer.bin", model_path));
  std::vector<fs::path> candidates;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path() != p && name.rfind("tok", 0) == 0 && entry.path().extension() == ".bin")
      candidates.push_back(entry.path());
  }
  if (candidates.size() == 1) return load_file(confined_path(dir.string(), candidates[0].filename().string(), model_path));
  throw Error(candidates.empty() ? "no tokenizer.bin beside the checkpoint" : "several tok*.bin files beside the checkpoint",
              model_path, "pass --tokenizer FILE");
}

}  // namespace sculpt
