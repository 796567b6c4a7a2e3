// Shared by the libFuzzer targets: the parsers under test read files, so each input is written to
// a per-process temporary file first. sculpt::Error is the expected outcome for bad input; any
// other exception, crash or sanitizer report is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace sculpt::fuzz {

inline std::string write_input(const uint8_t* data, size_t size, const std::string& name) {
  const std::string path = "/tmp/sculpt-fuzz-" + std::to_string(::getpid()) + "-" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace sculpt::fuzz
