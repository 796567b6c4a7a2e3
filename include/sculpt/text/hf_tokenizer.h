// Hugging Face tokenizer.json with a BPE model, in its two common flavours:
//  - byte-level (GPT-2, Llama 3, Qwen2): a regex pre-tokenizer splits the text, every byte is
//    mapped to a printable code point, merges run inside each piece;
//  - SentencePiece-style (Llama 2, Mistral): spaces become '▁' (normalizer or Metaspace), merges
//    run over code points, pieces missing from the vocabulary fall back to <0xXX> byte tokens.
// Added tokens are split out first and map straight to their ids.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sculpt/text/bpe.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

class HfTokenizer : public Tokenizer {
 public:
  explicit HfTokenizer(const std::string& tokenizer_json_path);
  // From tokenizer.json text held in memory (e.g. built from GGUF metadata); `source` names it
  // in errors.
  struct FromText {};
  HfTokenizer(FromText, const std::string& tokenizer_json_text, const std::string& source);
  ~HfTokenizer() override;

  std::vector<int32_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(id_to_token_.size()); }
  std::string id_to_piece(int32_t id) const override;
  bool is_special(int32_t id) const override;
  std::string kind() const override { return byte_level_ ? "bpe-bytelevel" : "bpe-sentencepiece"; }
  // Id of a token string (vocabulary or added token), -1 when absent.
  int32_t token_to_id(const std::string& token) const;
  // True when the post-processor template starts with a special token (e.g. Llama 2's <s>).
  bool template_adds_bos() const { return template_bos_ >= 0; }
  int32_t template_bos() const { return template_bos_; }
  bool template_adds_eos() const { return template_eos_ >= 0; }
  int32_t template_eos() const { return template_eos_; }

  struct Step;  // one normalizer / pre-tokenizer / decoder step, defined in the .cpp

 private:
  std::vector<int32_t> encode_segment(const std::string& text, bool first_segment) const;
  void encode_word(const std::string& word, std::vector<int32_t>& out) const;

  std::unordered_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  BpeMerges merges_;
  struct AddedToken {
    std::string content;
    int32_t id;
    bool special;
  };
  std::vector<AddedToken> added_;  // longest content first
  std::vector<bool> special_;
  std::vector<std::unique_ptr<Step>> normalizers_, pre_tokenizers_, decoders_;
  bool byte_level_ = false;  // any ByteLevel pre-tokenizer present
  bool byte_fallback_ = false, fuse_unk_ = false, ignore_merges_ = false;
  int32_t unk_id_ = -1;
  int32_t template_bos_ = -1, template_eos_ = -1;  // special tokens the post-processor puts around a text
  std::string path_;
};

}  // namespace sculpt
