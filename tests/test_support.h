// Shared helpers for the test suite: fixture paths, ../shared detection, comparisons.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "sculpt/core/tensor.h"

namespace sculpt::testing {

// A path given relative to the running test binary's directory, made absolute. The build passes
// the source tree, ../shared and the sculpt binary as such relative paths (SCULPT_*_FROM_BINARY),
// so that no compile command holds an absolute path and a second clone's build reuses the compiler
// cache (cmake/Ccache.cmake).
inline std::string from_test_binary(const char* rel) {
  const auto exe = std::filesystem::read_symlink("/proc/self/exe");
  return std::filesystem::weakly_canonical(exe.parent_path() / rel).string();
}

inline std::string source_dir(const std::string& rel = "") {
  return from_test_binary(SCULPT_SOURCE_DIR_FROM_BINARY) + "/" + rel;
}
inline std::string fixtures(const std::string& rel = "") { return source_dir("tests/fixtures/" + rel); }

// ../shared beside the checkout (CI has it; a plain clone does not). SCULPT_SHARED_DIR in the
// environment overrides.
inline std::string shared_dir(const std::string& rel = "") {
  const char* env = std::getenv("SCULPT_SHARED_DIR");
  return (env ? std::string(env) : from_test_binary(SCULPT_SHARED_DIR_FROM_BINARY)) + "/" + rel;
}

#define SCULPT_REQUIRE_PATH(path)                                                                         \
  do {                                                                                                    \
    if (!std::filesystem::exists(path))                                                                   \
      GTEST_SKIP() << "skipped: " << (path) << " is absent (needs ../shared; see "                          \
                   << "README 'Development')";                                                            \
  } while (0)

// Identical bit patterns (bit-exactness claims).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()) == 0;
}

// Largest |a - b| over all elements.
inline double max_abs_diff(const float* a, const float* b, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
  return worst;
}
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.numel(), b.numel());
  return max_abs_diff(a.data(), b.data(), std::min(a.numel(), b.numel()));
}

// A temporary directory removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/sculpt-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// Writes `text` to dir/name byte for byte and returns the path.
inline std::string write_file(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name, std::ios::binary) << text;
  return dir / name;
}

}  // namespace sculpt::testing
