// The GGUF reader on files built byte by byte here: a valid file reads back every metadata type
// and tensor; every malformed one (truncated anywhere, bad magic or version, absurd counts,
// lengths beyond the file, unknown types, deep nesting, bad offsets, overflowing dimensions,
// duplicates) is one Error naming the file and the fault, never a crash (CI runs this under ASan).
// Bit-identity of dequantisation with gguf-py is checked live by tests/interop/check_gguf.py.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "sculpt/core/error.h"
#include "sculpt/core/dtype.h"
#include "io/gguf_bytes.h"
#include "sculpt/io/gguf.h"
#include "test_support.h"

namespace sculpt {
namespace {

using testing::GgufBytes;

std::string write_gguf(const testing::TempDir& dir, const std::string& bytes) {
  const std::string path = dir / "model.gguf";
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The error message: one line naming the file and containing `expected`.
std::string gguf_error_of(const std::string& path, const std::string& expected) {
  try {
    GgufFile f(path);
    ADD_FAILURE() << "no error for " << expected;
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find(path), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find(expected), std::string::npos) << e.one_line();
    EXPECT_EQ(e.one_line().find('\n'), std::string::npos);
    return e.one_line();
  }
  return "";
}

// A valid version-3 file: metadata of every value type (arrays nested two deep), alignment 64, an
// F32 tensor (2 x 3) and a Q8_0 tensor (one block of 32).
std::string valid_gguf() {
  GgufBytes g;
  g.header(2, 16);
  g.str("t.u8").put<uint32_t>(0).put<uint8_t>(200);
  g.str("t.i8").put<uint32_t>(1).put<int8_t>(-100);
  g.str("t.u16").put<uint32_t>(2).put<uint16_t>(60000);
  g.str("t.i16").put<uint32_t>(3).put<int16_t>(-30000);
  g.kv_u32("t.u32", 4000000000u);
  g.str("t.i32").put<uint32_t>(5).put<int32_t>(-2000000000);
  g.str("t.f32").put<uint32_t>(6).put<float>(0.25f);
  g.str("t.bool").put<uint32_t>(7).put<uint8_t>(1);
  g.kv_string("t.string", "h\xC3\xA9llo");
  g.str("t.u64").put<uint32_t>(10).put<uint64_t>(uint64_t{1} << 63);
  g.str("t.i64").put<uint32_t>(11).put<int64_t>(-(int64_t{1} << 62));
  g.str("t.f64").put<uint32_t>(12).put<double>(3.5);
  g.str("t.strings").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(2).str("a").str("");
  // [[1, 2], [3]] as i32
  g.str("t.nested").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(2);
  g.put<uint32_t>(5).put<uint64_t>(2).put<int32_t>(1).put<int32_t>(2);
  g.put<uint32_t>(5).put<uint64_t>(1).put<int32_t>(3);
  g.kv_u32("general.alignment", 64);
  g.kv_string("general.architecture", "llama");
  g.tensor("weights", {3, 2}, 0, 0);
  g.tensor("quantized", {32}, 8, 64);
  g.pad(64);
  for (int i = 0; i < 6; ++i) g.put<float>(static_cast<float>(i) - 2.5f);
  g.pad(64);
  g.put<uint16_t>(f32_to_f16(0.5f));  // Q8_0: d, then 32 int8 quants: x = q * d
  for (int i = 0; i < 32; ++i) g.put<int8_t>(static_cast<int8_t>(i * 8 - 128));
  return g.b;
}

TEST(Gguf, ReadsEveryValueTypeAndTensor) {
  testing::TempDir dir;
  const GgufFile f(write_gguf(dir, valid_gguf()));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.metadata().size(), 16u);
  EXPECT_EQ(f.at("t.u8").as_int("t.u8"), 200);
  EXPECT_EQ(f.at("t.i8").as_int("t.i8"), -100);
  EXPECT_EQ(f.at("t.u16").as_int("t.u16"), 60000);
  EXPECT_EQ(f.at("t.i16").as_int("t.i16"), -30000);
  EXPECT_EQ(f.at("t.u32").as_int("t.u32"), 4000000000LL);
  EXPECT_EQ(f.at("t.i32").as_int("t.i32"), -2000000000LL);
  EXPECT_EQ(f.at("t.f32").as_number("t.f32"), 0.25);
  EXPECT_EQ(f.at("t.bool").u, 1u);
  EXPECT_EQ(f.at("t.string").as_string("t.string"), "h\xC3\xA9llo");
  EXPECT_EQ(f.at("t.u64").u, uint64_t{1} << 63);
  EXPECT_THROW(f.at("t.u64").as_int("t.u64"), Error);  // beyond int64
  EXPECT_EQ(f.at("t.i64").as_int("t.i64"), -(int64_t{1} << 62));
  EXPECT_EQ(f.at("t.f64").as_number("t.f64"), 3.5);
  EXPECT_THROW(f.at("t.f64").as_string("t.f64"), Error);
  const GgufValue& strings = f.at("t.strings");
  ASSERT_EQ(strings.array.size(), 2u);
  EXPECT_EQ(strings.array[0].s, "a");
  EXPECT_EQ(strings.array[1].s, "");
  const GgufValue& nested = f.at("t.nested");
  ASSERT_EQ(nested.array.size(), 2u);
  ASSERT_EQ(nested.array[0].array.size(), 2u);
  EXPECT_EQ(nested.array[0].array[1].as_int("t.nested"), 2);
  EXPECT_EQ(nested.array[1].array[0].as_int("t.nested"), 3);
  EXPECT_EQ(f.find("absent"), nullptr);
  EXPECT_THROW(f.at("absent"), Error);

  ASSERT_EQ(f.tensors().size(), 2u);
  const GgufTensorInfo* w = f.find_tensor("weights");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), Shape({2, 3}));  // dims reversed: row-major
  const Tensor wt = f.read_f32(*w);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(wt.data()[i], static_cast<float>(i) - 2.5f);
  const Tensor q = f.read_f32(*f.find_tensor("quantized"));
  ASSERT_EQ(q.numel(), 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(q.data()[i], 0.5f * static_cast<float>(i * 8 - 128)) << i;
}

TEST(GgufErrors, TruncatedAtEveryByteIsAnErrorNeverACrash) {
  testing::TempDir dir;
  const std::string full = valid_gguf();
  for (size_t n = 0; n < full.size(); ++n) {
    const std::string path = write_gguf(dir, full.substr(0, n));
    try {
      GgufFile f(path);
      ADD_FAILURE() << "no error for a file cut at byte " << n << " of " << full.size();
    } catch (const Error& e) {
      EXPECT_NE(e.one_line().find(path), std::string::npos) << e.one_line();
    }
  }
}

TEST(GgufErrors, MagicAndVersion) {
  testing::TempDir dir;
  std::string bad = valid_gguf();
  bad[0] = 'X';
  gguf_error_of(write_gguf(dir, bad), "bad magic");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 0, 1).b), "unsupported GGUF version 1");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 0, 4).b), "unsupported GGUF version 4");
  EXPECT_NE(gguf_error_of(write_gguf(dir, GgufBytes().header(0, 0, 0x03000000u).b), "unsupported GGUF version").find("big-endian"),
            std::string::npos);
  gguf_error_of(write_gguf(dir, "GGU"), "too short");
}

TEST(GgufErrors, AbsurdCounts) {
  testing::TempDir dir;
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, uint64_t{1} << 60).b), "metadata count");
  gguf_error_of(write_gguf(dir, GgufBytes().header(uint64_t{1} << 60, 0).b), "tensor count");
}

TEST(GgufErrors, LengthsBeyondTheFile) {
  testing::TempDir dir;
  GgufBytes key_too_long;
  key_too_long.header(0, 1).put<uint64_t>(1000).b += "short";
  gguf_error_of(write_gguf(dir, key_too_long.b), "a metadata key needs 1000 bytes");
  GgufBytes value_too_long;
  value_too_long.header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(uint64_t{1} << 62);
  gguf_error_of(write_gguf(dir, value_too_long.b), "a string value needs");
  GgufBytes array_too_long;
  array_too_long.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(5).put<uint64_t>(uint64_t{1} << 40);
  gguf_error_of(write_gguf(dir, array_too_long.b), "key 'k': array of 1099511627776 i32 values cannot fit");
}

TEST(GgufErrors, UnknownValueAndTensorTypes) {
  testing::TempDir dir;
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 1).str("k").put<uint32_t>(13).put<uint32_t>(0).b),
           "key 'k': unknown value type 13");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(77).put<uint64_t>(0).b),
           "key 'k': unknown array element type 77");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(2).b), "neither 0 nor 1");
  // IQ2_XXS (16): a real ggml type sculpt cannot dequantise; 99: no type at all.
  for (uint32_t type : {16u, 99u}) {
    GgufBytes g;
    g.header(1, 0).tensor("blk.0.attn_q.weight", {256}, type, 0).pad(32);
    g.b.append(1024, '\0');
    const std::string msg = gguf_error_of(write_gguf(dir, g.b), "tensor 'blk.0.attn_q.weight' has unsupported ggml type");
    EXPECT_NE(msg.find("llama-quantize"), std::string::npos) << msg;
  }
}

TEST(GgufErrors, ArraysNestedTooDeepStopBeforeTheStack) {
  testing::TempDir dir;
  GgufBytes g;
  g.header(0, 1).str("deep").put<uint32_t>(9);
  for (int d = 0; d < 100000; ++d) g.put<uint32_t>(9).put<uint64_t>(1);  // arrays of one array, 100,000 deep
  gguf_error_of(write_gguf(dir, g.b), "key 'deep': arrays nested more than 8 deep");
}

TEST(GgufErrors, TensorDescriptions) {
  testing::TempDir dir;
  auto one_tensor = [&](std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data_bytes) {
    GgufBytes g;
    g.header(1, 0).tensor("t", std::move(dims), type, offset).pad(32);
    g.b.append(data_bytes, '\0');
    return write_gguf(dir, g.b);
  };
  gguf_error_of(one_tensor({4}, 0, 64, 64), "tensor 't' (16 bytes at data offset 64) runs past the end of the file");
  gguf_error_of(one_tensor({4}, 0, 8, 64), "tensor 't' offset 8 is not a multiple of the alignment 32");
  gguf_error_of(one_tensor({uint64_t{1} << 30, uint64_t{1} << 30}, 0, 0, 64), "the element count overflows");
  gguf_error_of(one_tensor({4, 0}, 0, 0, 64), "has dimension 0");
  gguf_error_of(one_tensor({1, 1, 1, 1, 1}, 0, 0, 64), "has 5 dimensions");
  gguf_error_of(one_tensor({48}, 8, 0, 64), "its first dimension 48 is not a multiple of the Q8_0 block size 32");
  GgufBytes dup;
  dup.header(2, 0).tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32).pad(32);
  dup.b.append(64, '\0');
  gguf_error_of(write_gguf(dir, dup.b), "duplicate tensor name 't'");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 2).kv_u32("k", 1).kv_u32("k", 2).b), "duplicate metadata key 'k'");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 1).kv_u32("general.alignment", 48).b), "not a power of two");
  gguf_error_of(write_gguf(dir, GgufBytes().header(0, 1).kv_string("general.alignment", "32").b), "not a u32");
}

TEST(GgufErrors, NotAGgufFile) {
  testing::TempDir dir;
  EXPECT_FALSE(is_gguf_file(dir / "absent.gguf"));
  EXPECT_TRUE(is_gguf_file(write_gguf(dir, valid_gguf())));
  std::ofstream(dir / "model.safetensors") << "not gguf at all, but long enough";
  EXPECT_FALSE(is_gguf_file(dir / "model.safetensors"));
  gguf_error_of(dir / "model.safetensors", "bad magic");
  try {
    GgufFile f(dir / "absent.gguf");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("absent.gguf"), std::string::npos);
  }
}

}  // namespace
}  // namespace sculpt
