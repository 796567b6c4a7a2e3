// The tokenizer interface and the loader that picks an implementation from the files present:
// tokenizer.json (HF BPE, byte-level or SentencePiece-style), tokenizer.model (libsentencepiece)
// or a llama2.c tokenizer.bin.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sculpt {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text to ids, without BOS/EOS (special tokens written in the text are recognised where the
  // format has them, as Hugging Face does).
  virtual std::vector<int32_t> encode(const std::string& text) const = 0;
  // Ids to text. With skip_special, control tokens (BOS, EOS, ...) are dropped.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual std::string id_to_piece(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;
  virtual std::string kind() const = 0;  // "sentencepiece", "bpe-bytelevel", ...

  int32_t bos_id() const { return bos_id_; }
  int32_t eos_id() const { return eos_id_; }
  bool adds_bos() const { return add_bos_; }
  bool adds_eos() const { return add_eos_; }
  // encode() with BOS prepended and EOS appended where the tokenizer's configuration asks for it
  // (what transformers' encode(text, add_special_tokens=True) gives).
  std::vector<int32_t> encode_for_model(const std::string& text) const;

  void set_special_ids(int32_t bos, int32_t eos, bool add_bos, bool add_eos = false) {
    bos_id_ = bos;
    eos_id_ = eos;
    add_bos_ = add_bos;
    add_eos_ = add_eos;
  }

 protected:
  int32_t bos_id_ = -1, eos_id_ = -1;
  bool add_bos_ = false, add_eos_ = false;
};

// Loads the tokenizer that belongs to a model: a HF directory (tokenizer.json preferred over
// tokenizer.model; tokenizer_config.json and config.json supply BOS/EOS), a tokenizer file, or
// for a llama2.c .bin the tokenizer.bin / tok*.bin beside it. `explicit_path` overrides.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& model_path, const std::string& explicit_path = "");

}  // namespace sculpt
