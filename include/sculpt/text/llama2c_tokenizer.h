// llama2.c's tokenizer.bin: int32 max_token_length, then per token {float32 score, int32 length,
// bytes}. Encoding follows run.c: a dummy-prefix space, code points looked up (bytes + 3 as
// fallback), then the adjacent pair whose concatenation scores highest is merged until none is
// in the vocabulary. run.c keeps whitespace as written; SentencePiece models trained with
// remove_extra_whitespaces (llama2.c's own tok*.model files) trim it and collapse runs of spaces,
// which `sentencepiece_whitespace` reproduces.
#pragma once
#include <string>
#include <unordered_map>
#include <vector>

#include "sculpt/text/tokenizer.h"

namespace sculpt {

class Llama2cTokenizer : public Tokenizer {
 public:
  explicit Llama2cTokenizer(const std::string& path, bool sentencepiece_whitespace = false);

  std::vector<int32_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  std::string id_to_piece(int32_t id) const override;
  bool is_special(int32_t id) const override { return id >= 0 && id <= 2; }  // <unk>, <s>, </s>
  std::string kind() const override { return "llama2c"; }

 private:
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int32_t> lookup_;
  std::string path_;
  bool sentencepiece_whitespace_ = false;
};

}  // namespace sculpt
