// Training a SentencePiece vocabulary (BPE or unigram, byte fallback) through libsentencepiece's
// trainer, and writing it as a tokenizer directory that sculpt and Hugging Face tools load:
// tokenizer.model + tokenizer_config.json + special_tokens_map.json (Llama conventions:
// <unk> 0, <s> 1, </s> 2, BOS added, EOS not).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sculpt {

struct TokenizerTrainOptions {
  std::string model_type = "bpe";  // "bpe" or "unigram"
  int64_t vocab_size = 8192;
  double character_coverage = 0.9995;  // rarer characters are left to byte fallback
  bool byte_fallback = true;           // unseen characters become <0xNN> pieces, never <unk>
  bool split_digits = true;            // every digit its own piece (as Llama)
  int64_t max_sentence_bytes = 4192;   // longer training lines are skipped by the trainer
  int threads = 1;
};

// Trains on `sentences` (lines of text; each must be non-empty) and returns the serialized
// ModelProto. Deterministic for the same sentences and options. Throws Error on failure.
std::string train_sentencepiece(const std::vector<std::string>& sentences, const TokenizerTrainOptions& options);

// What decode(encode(text)) gives with these settings: the text itself, except that the
// metaspace character U+2581 (SentencePiece's stand-in for a space) comes back as a space.
std::string sentencepiece_round_trip(const std::string& text);

// Writes tokenizer.model (the serialized proto), tokenizer_config.json and
// special_tokens_map.json into `dir` (which must exist), each atomically.
void write_sentencepiece_dir(const std::string& dir, const std::string& model_proto);

}  // namespace sculpt
