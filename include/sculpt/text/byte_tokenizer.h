// A self-contained byte-level tokenizer (256 byte tokens + BOS/EOS, no merges) written as
// tokenizer.json + tokenizer_config.json, so a model sculpt creates from nothing can be used
// by sculpt and by Hugging Face tools alike.
#pragma once
#include <string>

namespace sculpt {

constexpr int kByteTokenizerVocab = 258;  // bytes 0..255, BOS 256, EOS 257
constexpr int kByteTokenizerBos = 256;
constexpr int kByteTokenizerEos = 257;

// Writes tokenizer.json and tokenizer_config.json into `dir` (atomically, file by file).
void write_byte_tokenizer(const std::string& dir);

}  // namespace sculpt
