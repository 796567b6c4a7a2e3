// Minimal use of the sculpt library from another program: load a model and its tokenizer,
// then greedily continue a prompt.
//   example_generate MODEL_DIR_OR_BIN "Once upon a time"
#include <cstdio>

#include "sculpt/sculpt.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL PROMPT\n", argv[0]);
    return 2;
  }
  try {
    sculpt::LlamaModel model = sculpt::load_model(argv[1]);
    auto tokenizer = sculpt::load_tokenizer(argv[1]);
    sculpt::GenerationOptions options;
    options.max_new_tokens = 32;
    options.stop_tokens = {tokenizer->eos_id()};
    auto out = sculpt::generate(model, {tokenizer->encode_for_model(argv[2])}, options);
    std::printf("%s%s\n", argv[2], tokenizer->decode(out[0], true).c_str());
  } catch (const sculpt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.one_line().c_str());
    return 1;
  }
  return 0;
}
