#include "sculpt/text/byte_tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/text/utf8.h"

namespace sculpt {

using json = nlohmann::json;

void write_byte_tokenizer(const std::string& dir) {
  json vocab = json::object();
  int extra = 0;
  for (int b = 0; b < 256; ++b) {  // GPT-2's byte alphabet, in byte order
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    vocab[utf8_encode(printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++))] = b;
  }
  auto added = [](int id, const char* content) {
    return json{{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
                {"rstrip", false},   {"normalized", false}, {"special", true}};
  };
  json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", {added(kByteTokenizerBos, "<|begin_of_text|>"), added(kByteTokenizerEos, "<|end_of_text|>")}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens",
         {{"<|begin_of_text|>", {{"id", "<|begin_of_text|>"}, {"ids", {kByteTokenizerBos}}, {"tokens", {"<|begin_of_text|>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false}, {"vocab", vocab},
        {"merges", json::array()}}}};
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                 {"bos_token", "<|begin_of_text|>"},
                 {"eos_token", "<|end_of_text|>"},
                 {"add_bos_token", true},
                 {"model_max_length", 1 << 20}};
  namespace fs = std::filesystem;
  write_text_atomic((fs::path(dir) / "tokenizer.json").string(), tokenizer.dump(1) + "\n");
  write_text_atomic((fs::path(dir) / "tokenizer_config.json").string(), config.dump(2) + "\n");
}

}  // namespace sculpt
