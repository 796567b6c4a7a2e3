// libFuzzer target: the GGUF reader (header, metadata of every type and nesting, tensor
// descriptions, alignment, offsets) and the dequantisation of every tensor it accepts.
#include "fuzz_input.h"
#include "sculpt/core/error.h"
#include "sculpt/io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sculpt::fuzz::write_input(data, size, "model.gguf");
  try {
    sculpt::GgufFile f(path);
    for (const auto& t : f.tensors()) (void)f.read_f32(t);  // every tensor dequantised
  } catch (const sculpt::Error&) {
  }
  return 0;
}
