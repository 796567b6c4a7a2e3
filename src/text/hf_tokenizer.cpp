#include "sculpt/text/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/text/regex.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

using json = nlohmann::json;

namespace {

const char* const kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const std::string kMetaspace = "\xE2\x96\x81";  // U+2581 '▁'

// GPT-2's reversible byte → printable code point table.
struct ByteAlphabet {
  std::array<std::string, 256> byte_to_char;
  std::unordered_map<uint32_t, unsigned char> char_to_byte;
  ByteAlphabet() {
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
      byte_to_char[b] = utf8_encode(cp);
      char_to_byte[cp] = static_cast<unsigned char>(b);
    }
  }
};
const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet table;
  return table;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

std::string quote_regex(const std::string& literal) { return "\\Q" + replace_all(literal, "\\E", "\\E\\\\E\\Q") + "\\E"; }

// Reads {"String": "x"} or {"Regex": "x"} as a regex source.
std::string pattern_source(const json& pattern) {
  if (pattern.contains("Regex")) return pattern["Regex"].get<std::string>();
  if (pattern.contains("String")) return quote_regex(pattern["String"].get<std::string>());
  throw Error("pattern is neither String nor Regex", "tokenizer.json");
}

bool parse_byte_token(const std::string& token, unsigned char& byte) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return false;
  unsigned value = 0;
  if (std::sscanf(token.c_str() + 3, "%2X", &value) != 1) return false;
  byte = static_cast<unsigned char>(value);
  return true;
}

}  // namespace

struct HfTokenizer::Step {
  std::string type;
  std::string content, pattern_literal;  // Prepend / Replace / Strip
  std::unique_ptr<UnicodeRegex> regex;   // Split, ByteLevel(use_regex), Replace(Regex), Digits
  std::string behavior = "Isolated";
  int strip_start = 0, strip_stop = 0;
  bool add_prefix_space = false, split = true;
  std::string prepend_scheme = "always", replacement = kMetaspace;

  // Normalizer.
  std::string normalize(const std::string& s) const {
    if (type == "Prepend") return s.empty() ? s : content + s;
    if (type == "Replace") return replace_all(s, pattern_literal, content);
    return s;
  }

  // Pre-tokenizer: splits one piece into several.
  std::vector<std::string> pre_tokenize(const std::string& piece, bool first_segment) const {
    std::string s = piece;
    if (type == "ByteLevel") {
      if (add_prefix_space && (s.empty() || s[0] != ' ')) s = " " + s;
      if (!regex) return {s};
      return split_by(*regex, s, "Isolated");
    }
    if (type == "Metaspace") {
      s = replace_all(s, " ", replacement);
      const bool prepend = prepend_scheme == "always" || (prepend_scheme == "first" && first_segment);
      if (prepend && s.compare(0, replacement.size(), replacement) != 0) s = replacement + s;
      if (!split) return {s};
      std::vector<std::string> out;  // each piece starts at a '▁'
      size_t begin = 0;
      for (size_t pos = s.find(replacement, 1); pos != std::string::npos; pos = s.find(replacement, pos + 1)) {
        out.push_back(s.substr(begin, pos - begin));
        begin = pos;
      }
      out.push_back(s.substr(begin));
      return out;
    }
    return split_by(*regex, s, behavior);  // Split, Digits
  }

  static std::vector<std::string> split_by(const UnicodeRegex& re, const std::string& s, const std::string& behavior) {
    std::vector<std::string> out;
    size_t last = 0;
    std::string pending;  // for MergedWithNext
    for (auto [b, e] : re.find_all(s)) {
      std::string gap = s.substr(last, b - last), match = s.substr(b, e - b);
      if (behavior == "Isolated" || behavior == "Removed") {
        if (!gap.empty()) out.push_back(gap);
        if (behavior == "Isolated") out.push_back(match);
      } else if (behavior == "MergedWithPrevious") {
        out.push_back(gap + match);
      } else {  // MergedWithNext
        if (!gap.empty()) out.push_back(pending + gap), pending.clear();
        pending += match;
      }
      last = e;
    }
    std::string tail = s.substr(last);
    if (behavior == "MergedWithNext") tail = pending + tail;
    if (!tail.empty()) out.push_back(tail);
    return out;
  }

  // Decoder: rewrites the token strings.
  void decode(std::vector<std::string>& tokens) const {
    if (type == "Replace") {
      for (auto& t : tokens) t = replace_all(t, pattern_literal, content);
    } else if (type == "ByteFallback") {
      std::vector<std::string> out;
      std::string bytes;
      auto flush = [&] {
        if (bytes.empty()) return;
        if (utf8_valid(bytes)) {
          out.push_back(bytes);
        } else {
          std::string replacement_chars;
          for (size_t i = 0; i < bytes.size(); ++i) replacement_chars += "\xEF\xBF\xBD";
          out.push_back(replacement_chars);
        }
        bytes.clear();
      };
      for (const auto& t : tokens) {
        unsigned char byte;
        if (parse_byte_token(t, byte)) {
          bytes += static_cast<char>(byte);
        } else {
          flush();
          out.push_back(t);
        }
      }
      flush();
      tokens.swap(out);
    } else if (type == "Fuse") {
      std::string all;
      for (const auto& t : tokens) all += t;
      tokens = {all};
    } else if (type == "Strip") {
      for (auto& t : tokens) {
        int n = 0;
        while (n < strip_start && t.compare(0, content.size(), content) == 0 && !content.empty()) t.erase(0, content.size()), ++n;
        n = 0;
        while (n < strip_stop && t.size() >= content.size() && !content.empty() &&
               t.compare(t.size() - content.size(), content.size(), content) == 0)
          t.erase(t.size() - content.size()), ++n;
      }
    } else if (type == "ByteLevel") {
      std::string bytes;
      for (const auto& t : tokens)
        for (uint32_t cp : utf8_code_points(t)) {
          auto it = byte_alphabet().char_to_byte.find(cp);
          if (it != byte_alphabet().char_to_byte.end()) bytes += static_cast<char>(it->second);
          else bytes += utf8_encode(cp);
        }
      tokens = {utf8_lossy(bytes)};
    } else if (type == "Metaspace") {
      for (size_t i = 0; i < tokens.size(); ++i) {
        tokens[i] = replace_all(tokens[i], replacement, " ");
        if (i == 0 && prepend_scheme != "never" && !tokens[i].empty() && tokens[i][0] == ' ') tokens[i].erase(0, 1);
      }
    }
  }
};

namespace {

using StepList = std::vector<std::unique_ptr<HfTokenizer::Step>>;

void parse_steps(const json& node, const char* role, const std::string& path, StepList& out) {
  if (node.is_null()) return;
  const std::string type = node.value("type", "");
  if (type == "Sequence") {
    for (const char* key : {"normalizers", "pretokenizers", "decoders"})
      if (node.contains(key))
        for (const auto& child : node[key]) parse_steps(child, role, path, out);
    return;
  }
  auto step = std::make_unique<HfTokenizer::Step>();
  step->type = type;
  const std::string what = std::string(role) + " '" + type + "'";
  if (type == "Prepend") {
    step->content = node.at("prepend").get<std::string>();
  } else if (type == "Replace") {
    if (!node.at("pattern").contains("String"))
      throw Error("unsupported " + what + " with a regex pattern", path, "only literal Replace patterns are supported");
    step->pattern_literal = node["pattern"]["String"].get<std::string>();
    step->content = node.at("content").get<std::string>();
  } else if (type == "ByteLevel") {
    step->add_prefix_space = node.value("add_prefix_space", false);
    if (std::string(role) == "pre-tokenizer" && node.value("use_regex", true))
      step->regex = std::make_unique<UnicodeRegex>(kGpt2Pattern);
  } else if (type == "Split") {
    step->regex = std::make_unique<UnicodeRegex>(pattern_source(node.at("pattern")));
    step->behavior = node.value("behavior", "Isolated");
    if (node.value("invert", false)) throw Error("unsupported Split with invert: true", path);
    if (step->behavior == "Contiguous") throw Error("unsupported Split behavior 'Contiguous'", path);
  } else if (type == "Digits") {
    step->regex = std::make_unique<UnicodeRegex>(node.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+");
  } else if (type == "Metaspace") {
    step->replacement = node.value("replacement", kMetaspace);
    step->split = node.value("split", true);
    if (node.contains("prepend_scheme")) step->prepend_scheme = node["prepend_scheme"].get<std::string>();
    else step->prepend_scheme = node.value("add_prefix_space", true) ? "always" : "never";
  } else if (type == "Strip") {
    step->content = node.value("content", " ");
    step->strip_start = node.value("start", 0);
    step->strip_stop = node.value("stop", 0);
  } else if (type == "ByteFallback" || type == "Fuse") {
  } else {
    throw Error("unsupported " + what, path,
                "sculpt reads BPE tokenizer.json files of the GPT-2, Llama, Mistral and Qwen2 families");
  }
  out.push_back(std::move(step));
}

}  // namespace

HfTokenizer::~HfTokenizer() = default;

namespace {
// A token id from tokenizer.json, validated before it indexes anything: an integer in
// [0, 2^24) (the largest real vocabularies have ~256k entries).
int32_t token_id(const json& value, const std::string& token, const std::string& path) {
  constexpr int64_t kMaxVocab = int64_t{1} << 24;
  const int64_t id = value.is_number_integer() ? value.get<int64_t>() : -1;
  if (id < 0 || id >= kMaxVocab)
    throw Error("token '" + token + "' has id " + value.dump() + ", not an integer in [0, " +
                    std::to_string(kMaxVocab) + ")",
                path, "tokenizer.json is corrupt");
  return static_cast<int32_t>(id);
}
}  // namespace

HfTokenizer::HfTokenizer(const std::string& path) : HfTokenizer(FromText{}, read_text_file(path), path) {}

HfTokenizer::HfTokenizer(FromText, const std::string& text, const std::string& path) : path_(path) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("not a JSON object", path, "tokenizer.json is corrupt");
  try {
    const json& model = j.at("model");
    const std::string type = model.value("type", "BPE");
    if (type != "BPE")
      throw Error("unsupported tokenizer model type '" + type + "'", path,
                  "sculpt reads BPE tokenizer.json files; for Unigram models use tokenizer.model");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
        throw Error(std::string("unsupported BPE option ") + key, path);
    for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it) {
      const int32_t id = token_id(it.value(), it.key(), path);
      vocab_[it.key()] = id;
      if (id >= static_cast<int32_t>(id_to_token_.size())) id_to_token_.resize(static_cast<size_t>(id) + 1);
      id_to_token_[id] = it.key();
    }
    int32_t rank = 0;
    for (const auto& m : model.at("merges")) {
      std::string left, right;
      if (m.is_array()) {
        left = m.at(0).get<std::string>();
        right = m.at(1).get<std::string>();
      } else {
        const std::string s = m.get<std::string>();
        const size_t space = s.find(' ', 1);
        if (space == std::string::npos) throw Error("merge '" + s + "' has no separating space", path);
        left = s.substr(0, space);
        right = s.substr(space + 1);
      }
      auto l = vocab_.find(left), r = vocab_.find(right), merged = vocab_.find(left + right);
      if (l == vocab_.end() || r == vocab_.end() || merged == vocab_.end())
        throw Error("merge '" + left + " " + right + "' uses a token missing from the vocabulary", path,
                    "tokenizer.json is corrupt");
      merges_.add(l->second, r->second, merged->second, rank++);
    }
    byte_fallback_ = model.value("byte_fallback", false);
    fuse_unk_ = model.value("fuse_unk", false);
    ignore_merges_ = model.value("ignore_merges", false);
    if (model.contains("unk_token") && model["unk_token"].is_string()) unk_id_ = token_to_id(model["unk_token"]);

    if (j.contains("added_tokens"))
      for (const auto& t : j["added_tokens"]) {
        const std::string content = t.at("content").get<std::string>();
        AddedToken a{content, token_id(t.at("id"), content, path), t.value("special", false)};
        if (a.id >= static_cast<int32_t>(id_to_token_.size())) id_to_token_.resize(static_cast<size_t>(a.id) + 1);
        id_to_token_[a.id] = a.content;
        added_.push_back(a);
      }
    std::stable_sort(added_.begin(), added_.end(),
                     [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
    special_.assign(id_to_token_.size(), false);
    for (const auto& a : added_) special_[a.id] = a.special;
    if (unk_id_ < 0 && model.contains("unk_token") && model["unk_token"].is_string())
      unk_id_ = token_to_id(model["unk_token"]);

    parse_steps(j.value("normalizer", json()), "normalizer", path, normalizers_);
    parse_steps(j.value("pre_tokenizer", json()), "pre-tokenizer", path, pre_tokenizers_);
    parse_steps(j.value("decoder", json()), "decoder", path, decoders_);
    for (const auto& s : pre_tokenizers_) byte_level_ = byte_level_ || s->type == "ByteLevel";

    json post = j.value("post_processor", json());
    if (post.is_object() && post.value("type", "") == "Sequence" && post.contains("processors"))
      for (const auto& p : post["processors"])  // e.g. Llama 3: [ByteLevel, TemplateProcessing]
        if (p.is_object() && p.value("type", "") == "TemplateProcessing") post = p;
    if (post.is_object() && post.value("type", "") == "TemplateProcessing" && post.contains("single") &&
        post["single"].size() > 1) {
      const json& single = post["single"];  // e.g. [<s>, $A] or [<s>, $A, </s>]
      if (single.front().contains("SpecialToken"))
        template_bos_ = token_to_id(single.front()["SpecialToken"].at("id").get<std::string>());
      if (single.back().contains("SpecialToken"))
        template_eos_ = token_to_id(single.back()["SpecialToken"].at("id").get<std::string>());
    }
  } catch (const json::exception& e) {
    throw Error(std::string("unexpected structure: ") + e.what(), path, "tokenizer.json is corrupt or of a newer format");
  }
}

int32_t HfTokenizer::token_to_id(const std::string& token) const {
  for (const auto& a : added_)
    if (a.content == token) return a.id;
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

std::string HfTokenizer::id_to_piece(int32_t id) const {
  check(id >= 0 && id < static_cast<int32_t>(id_to_token_.size()), "token id " + std::to_string(id) + " out of range",
        path_);
  return id_to_token_[id];
}

bool HfTokenizer::is_special(int32_t id) const {
  return id >= 0 && id < static_cast<int32_t>(special_.size()) && special_[id];
}

void HfTokenizer::encode_word(const std::string& word, std::vector<int32_t>& out) const {
  std::string mapped;
  if (byte_level_) {
    for (unsigned char c : word) mapped += byte_alphabet().byte_to_char[c];
  } else {
    mapped = word;
  }
  if (ignore_merges_) {
    auto it = vocab_.find(mapped);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<int32_t> symbols;
  for (const std::string& ch : utf8_chars(mapped)) {
    auto it = vocab_.find(ch);
    if (it != vocab_.end()) {
      symbols.push_back(it->second);
      continue;
    }
    if (byte_fallback_) {
      std::vector<int32_t> bytes;
      char name[8];
      for (unsigned char c : ch) {
        std::snprintf(name, sizeof name, "<0x%02X>", c);
        auto b = vocab_.find(name);
        if (b == vocab_.end()) break;
        bytes.push_back(b->second);
      }
      if (bytes.size() == ch.size()) {
        symbols.insert(symbols.end(), bytes.begin(), bytes.end());
        continue;
      }
    }
    check(unk_id_ >= 0, "character '" + ch + "' is not in the vocabulary and there is no unk token", path_);
    if (fuse_unk_ && !symbols.empty() && symbols.back() == unk_id_) continue;
    symbols.push_back(unk_id_);
  }
  merges_.apply(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

std::vector<int32_t> HfTokenizer::encode_segment(const std::string& text, bool first_segment) const {
  std::string normalized = text;
  for (const auto& n : normalizers_) normalized = n->normalize(normalized);
  std::vector<std::string> pieces{normalized};
  for (const auto& p : pre_tokenizers_) {
    std::vector<std::string> next;
    for (const auto& piece : pieces)
      for (auto& sub : p->pre_tokenize(piece, first_segment)) next.push_back(std::move(sub));
    pieces.swap(next);
  }
  std::vector<int32_t> ids;
  for (const auto& piece : pieces)
    if (!piece.empty()) encode_word(piece, ids);
  return ids;
}

std::vector<int32_t> HfTokenizer::encode(const std::string& text) const {
  if (!utf8_valid(text)) throw Error("text is not valid UTF-8", path_, "convert the input to UTF-8");
  std::vector<int32_t> ids;
  size_t segment_begin = 0;
  bool first = true;
  auto flush = [&](size_t end) {
    if (end > segment_begin) {
      auto part = encode_segment(text.substr(segment_begin, end - segment_begin), first);
      ids.insert(ids.end(), part.begin(), part.end());
    }
    first = false;
  };
  for (size_t pos = 0; pos < text.size();) {
    const AddedToken* hit = nullptr;
    for (const auto& a : added_)
      if (!a.content.empty() && text.compare(pos, a.content.size(), a.content) == 0) {
        hit = &a;
        break;  // longest first
      }
    if (!hit) {
      ++pos;
      continue;
    }
    flush(pos);
    ids.push_back(hit->id);
    pos += hit->content.size();
    segment_begin = pos;
  }
  if (segment_begin < text.size()) {
    auto part = encode_segment(text.substr(segment_begin), first);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

std::string HfTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    tokens.push_back(id_to_piece(id));
  }
  for (const auto& d : decoders_) d->decode(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

}  // namespace sculpt
