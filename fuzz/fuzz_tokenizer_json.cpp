// libFuzzer target: tokenizer.json (BPE byte-level and SentencePiece-style, added tokens,
// normalizers, pre-tokenizers), then a round of encoding and decoding with what loaded.
#include "fuzz_input.h"
#include "sculpt/core/error.h"
#include "sculpt/text/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sculpt::fuzz::write_input(data, size, "tokenizer.json");
  try {
    sculpt::HfTokenizer tok(path);
    const auto ids = tok.encode("Hello world! Ünïcödé 123 \xF0\x9F\x99\x82 <s> text");
    (void)tok.decode(ids);
    (void)tok.decode({0, 1, 2, 3, 255, 256, 1000000}, true);
  } catch (const sculpt::Error&) {
  }
  return 0;
}
