// Every malformed safetensors file gives one clear Error naming the file (and tensor), never a
// crash. CI runs this suite under AddressSanitizer too.
#include <gtest/gtest.h>

#include <fstream>

#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/model/llama.h"
#include "test_support.h"

namespace sculpt {
namespace {

// Writes header length (or `declared_len`), header text and `data_bytes` zero bytes.
std::string write_raw(const testing::TempDir& dir, const std::string& header, size_t data_bytes,
                      int64_t declared_len = -1) {
  const std::string path = dir / "bad.safetensors";
  std::ofstream out(path, std::ios::binary);
  uint64_t len = declared_len >= 0 ? static_cast<uint64_t>(declared_len) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((len >> (8 * i)) & 0xff));
  out << header << std::string(data_bytes, '\0');
  return path;
}

// The error message, which must name the file and contain `expected`.
std::string error_of(const std::string& path, const std::string& expected) {
  try {
    SafetensorsFile f(path);
    ADD_FAILURE() << "no error for " << expected;
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find(path), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find(expected), std::string::npos) << e.one_line();
    EXPECT_EQ(e.one_line().find('\n'), std::string::npos);
    return e.one_line();
  }
  return "";
}

TEST(SafetensorsErrors, TooShort) {
  testing::TempDir dir;
  std::ofstream(dir / "bad.safetensors") << "abc";
  error_of(dir / "bad.safetensors", "too short");
}

TEST(SafetensorsErrors, AbsurdHeaderLength) {
  testing::TempDir dir;
  error_of(write_raw(dir, "{}", 0, int64_t{1} << 50), "absurd");
}

TEST(SafetensorsErrors, HeaderPastEndOfFile) {
  testing::TempDir dir;
  error_of(write_raw(dir, "{}", 0, 4096), "runs past the end of the file");
}

TEST(SafetensorsErrors, HeaderNotJson) {
  testing::TempDir dir;
  error_of(write_raw(dir, "{not json", 0), "not a JSON object");
  error_of(write_raw(dir, "[1,2]", 0), "not a JSON object");
}

TEST(SafetensorsErrors, OffsetsPastTheData) {
  testing::TempDir dir;
  auto msg = error_of(write_raw(dir, R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
                      "run past the end of the data");
  EXPECT_NE(msg.find("tensor 'w'"), std::string::npos);
}

TEST(SafetensorsErrors, TruncatedFile) {
  testing::TempDir dir;
  error_of(write_raw(dir, R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})", 15), "truncated");
}

TEST(SafetensorsErrors, OverlappingTensors) {
  testing::TempDir dir;
  error_of(write_raw(dir,
                     R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                     16),
           "overlap");
}

TEST(SafetensorsErrors, UnknownDtype) {
  testing::TempDir dir;
  auto msg = error_of(write_raw(dir, R"({"w":{"dtype":"F8_E9","shape":[1],"data_offsets":[0,1]}})", 1),
                      "unknown dtype 'F8_E9'");
  EXPECT_NE(msg.find("tensor 'w'"), std::string::npos);
}

TEST(SafetensorsErrors, ByteSizeDisagreesWithShape) {
  testing::TempDir dir;
  error_of(write_raw(dir, R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "does not match shape");
}

TEST(SafetensorsErrors, NegativeDimensionAndMissingFields) {
  testing::TempDir dir;
  error_of(write_raw(dir, R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0), "negative");
  error_of(write_raw(dir, R"({"w":{"dtype":"F32","shape":[1]}})", 4), "data_offsets");
  error_of(write_raw(dir, R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4), "missing dtype");
  error_of(write_raw(dir, R"({"w":{"dtype":"F32","shape":[1,1,1,1,1,1,1],"data_offsets":[0,4]}})", 4),
           "more than 6 dimensions");
}

TEST(SafetensorsErrors, ModelTensorMissingOrWrongShape) {
  // A checkpoint whose tensors disagree with config.json names the tensor and the file.
  testing::TempDir dir;
  std::filesystem::copy(testing::fixtures("model/gqa_odd/config.json"), dir / "config.json");
  Tensor wrong = Tensor::zeros({97, 35});
  write_safetensors(dir / "model.safetensors", {{"model.embed_tokens.weight", &wrong}});
  try {
    load_model(dir.path.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("model.embed_tokens.weight"), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find("(97, 35)"), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find("(97, 36)"), std::string::npos) << e.one_line();
  }
  Tensor right = Tensor::zeros({97, 36});
  write_safetensors(dir / "model.safetensors", {{"model.embed_tokens.weight", &right}});
  try {
    load_model(dir.path.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("'model.layers.0.input_layernorm.weight' is missing"), std::string::npos)
        << e.one_line();
  }
}

TEST(SafetensorsErrors, NonFiniteWeightsAreRejectedAtLoad) {
  testing::TempDir dir;
  std::filesystem::copy(testing::fixtures("model/gqa_odd/config.json"), dir / "config.json");
  LlamaModel m = load_model(testing::fixtures("model/gqa_odd"));
  m.parameter("model.norm.weight")[3] = NAN;
  save_model_hf(m, dir.path.string());
  try {
    load_model(dir.path.string());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("model.norm.weight"), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find("non-finite"), std::string::npos) << e.one_line();
  }
}

}  // namespace
}  // namespace sculpt
