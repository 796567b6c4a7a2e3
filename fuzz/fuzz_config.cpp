// libFuzzer target: config.json (model types, sizes, rope scaling, validation).
#include "fuzz_input.h"
#include "sculpt/core/error.h"
#include "sculpt/io/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sculpt::fuzz::write_input(data, size, "config.json");
  try {
    const sculpt::ModelConfig c = sculpt::read_hf_config(path);
    (void)c.parameter_count();
  } catch (const sculpt::Error&) {
  }
  return 0;
}
