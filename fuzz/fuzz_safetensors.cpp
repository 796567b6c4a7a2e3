// libFuzzer target: the safetensors reader (header length, JSON header, dtypes, offsets).
#include "fuzz_input.h"
#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = sculpt::fuzz::write_input(data, size, "model.safetensors");
  try {
    sculpt::SafetensorsFile f(path);
    for (const auto& name : f.names()) (void)f.read_f32(name);  // every tensor converted
  } catch (const sculpt::Error&) {
  }
  return 0;
}
