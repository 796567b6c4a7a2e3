// libFuzzer target: the task readers (JSONL prompt/completion and chat, with templates) and the
// plain-text corpus reader, on one input, with the byte-level tokenizer.
#include <filesystem>

#include "fuzz_input.h"
#include "sculpt/core/error.h"
#include "sculpt/data/readers.h"
#include "sculpt/data/text_corpus.h"
#include "sculpt/text/byte_tokenizer.h"

namespace {
const sculpt::Tokenizer& byte_tokenizer() {
  static std::unique_ptr<sculpt::Tokenizer> tok = [] {
    const std::string dir = "/tmp/sculpt-fuzz-tok-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir);
    sculpt::write_byte_tokenizer(dir);
    return sculpt::load_tokenizer(dir);
  }();
  return *tok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sculpt::fuzz::write_input(data, size, "data.jsonl");
  for (auto format : {sculpt::DataFormat::auto_detect, sculpt::DataFormat::prompt_completion, sculpt::DataFormat::chat}) {
    try {
      sculpt::ReaderOptions o;
      o.format = format;
      o.chat_template = sculpt::ChatTemplate::llama3;
      o.example.max_seq_len = 64;
      (void)sculpt::read_dataset(path, byte_tokenizer(), o);
    } catch (const sculpt::Error&) {
    }
  }
  try {
    (void)sculpt::read_text_corpus({path}, "text,sentence");
  } catch (const sculpt::Error&) {
  }
  return 0;
}
