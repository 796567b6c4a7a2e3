// The tokenizer a GGUF file's `tokenizer.ggml.*` metadata describes, built as the equivalent
// Hugging Face tokenizer.json and read by HfTokenizer:
//  - `gpt2`: byte-level BPE with the file's merges; the pre-tokenizer (how text is cut before the
//    merges run) follows `tokenizer.ggml.pre` as llama.cpp does (e.g. `smollm` splits every digit);
//  - `llama`: SentencePiece-style BPE over code points with byte fallback; the merges are implied
//    by the scores (a pair merges as early as the piece it makes scores high), spaces become '▁'.
// Tokens of type CONTROL (3) become special added tokens, USER_DEFINED (4) plain added tokens,
// matched whole in the text. BOS/EOS and add_bos come from the metadata.
#pragma once
#include <memory>
#include <string>

#include "sculpt/io/gguf.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

// tokenizer.json text equivalent to the file's tokenizer metadata. Errors name the file and key.
std::string gguf_tokenizer_json(const GgufFile& file);

// The tokenizer, with bos/eos/add_bos set.
std::unique_ptr<Tokenizer> gguf_tokenizer(const GgufFile& file);
std::unique_ptr<Tokenizer> gguf_tokenizer(const std::string& gguf_path);

// Writes the Hugging Face tokenizer files of a GGUF's tokenizer into `dir`, so that an export of
// a model read from a GGUF loads in AutoTokenizer and in sculpt as the GGUF did: tokenizer.json
// (with a post-processor adding BOS / EOS where the metadata asks for them),
// tokenizer_config.json (the special tokens) and chat_template.jinja (tokenizer.chat_template, as
// transformers 5 writes it).
void write_gguf_tokenizer_files(const std::string& gguf_path, const std::string& dir);

}  // namespace sculpt
