#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/core/dtype.h"
#include "sculpt/io/safetensors.h"
#include "test_support.h"

namespace sculpt {
namespace {

Tensor random_tensor(Shape shape, uint64_t seed) {
  Rng rng(seed);
  Tensor t = Tensor::zeros(std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.normal(0.f, 3.f);
  return t;
}

TEST(Safetensors, F32RoundTripIsBitExact) {
  testing::TempDir dir;
  Tensor a = random_tensor({3, 4}, 1), b = random_tensor({5}, 2), empty = Tensor::zeros({0, 3});
  a[0] = -0.f;
  a[1] = std::numeric_limits<float>::denorm_min();
  write_safetensors(dir / "x.safetensors", {{"a", &a}, {"b.weight", &b}, {"empty", &empty}}, {{"format", "pt"}});
  SafetensorsFile f(dir / "x.safetensors");
  EXPECT_EQ(f.names().size(), 3u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  Tensor a2 = f.read_f32("a"), b2 = f.read_f32("b.weight");
  EXPECT_EQ(a2.shape(), a.shape());
  EXPECT_EQ(std::memcmp(a2.data(), a.data(), sizeof(float) * a.numel()), 0);
  EXPECT_EQ(std::memcmp(b2.data(), b.data(), sizeof(float) * b.numel()), 0);
  EXPECT_EQ(f.read_f32("empty").shape(), (Shape{0, 3}));
}

TEST(Safetensors, HalfPrecisionStorageRoundsToNearestEven) {
  testing::TempDir dir;
  Tensor a = random_tensor({64}, 3);
  write_safetensors(dir / "h.safetensors", {{"bf", &a, DType::bf16}, {"f16", &a, DType::f16}});
  SafetensorsFile f(dir / "h.safetensors");
  EXPECT_EQ(f.info("bf").dtype, DType::bf16);
  Tensor bf = f.read_f32("bf"), h = f.read_f32("f16");
  for (int64_t i = 0; i < a.numel(); ++i) {
    EXPECT_NEAR(bf[i], a[i], std::fabs(a[i]) * 0x1p-8f);
    EXPECT_NEAR(h[i], a[i], std::fabs(a[i]) * 0x1p-11f + 0x1p-24f);
  }
}

TEST(Dtype, F16ConversionIsExactOnEveryHalfValue) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = f16_to_f32(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << bits;
  }
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(f32_to_f16(65520.f), 0x7c00);   // rounds to infinity
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);  // tie → even
}

TEST(Dtype, Bf16ConversionKnownValues) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // tie → even (down)
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // tie → even (up)
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(NAN))));
}

TEST(Safetensors, ShardedCheckpointWithIndex) {
  testing::TempDir dir;
  std::vector<Tensor> ts;
  for (int i = 0; i < 5; ++i) ts.push_back(random_tensor({100}, 10 + i));
  std::vector<TensorToWrite> w;
  for (int i = 0; i < 5; ++i) w.push_back({"t" + std::to_string(i), &ts[i]});
  write_checkpoint_shards(dir.path.string(), w, /*max_shard_bytes=*/900);  // two tensors per shard
  EXPECT_TRUE(std::filesystem::exists(dir / "model.safetensors.index.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "model-00003-of-00003.safetensors"));
  EXPECT_FALSE(std::filesystem::exists(dir / "model.safetensors"));
  TensorStore store(dir.path.string());
  EXPECT_EQ(store.names().size(), 5u);
  for (int i = 0; i < 5; ++i) {
    Tensor back = store.read_f32("t" + std::to_string(i));
    EXPECT_EQ(std::memcmp(back.data(), ts[i].data(), 400), 0);
  }
  EXPECT_NE(store.file_of("t4").find("model-00003-of-00003"), std::string::npos);
  EXPECT_THROW(store.read_f32("t9"), Error);
}

TEST(Safetensors, ReadsFilesWrittenByThePythonGenerator) {
  // tools/golden/safetensors_lite.py wrote this file independently of sculpt's writer.
  SafetensorsFile f(testing::fixtures("ops.safetensors"));
  EXPECT_EQ(f.info("rmsnorm.x").dtype, DType::f64);
  EXPECT_EQ(f.info("rmsnorm.x").shape, (Shape{5, 7}));
  EXPECT_EQ(f.read_i64("rope.positions"), (std::vector<int64_t>{0, 1, 2, 5, 17, 63}));
}

}  // namespace
}  // namespace sculpt

namespace sculpt {
namespace {
TEST(ByteSize, ReadsTransformersStyleSizes) {
  EXPECT_EQ(parse_byte_size("2GB"), 2000000000ull);
  EXPECT_EQ(parse_byte_size("500MB"), 500000000ull);
  EXPECT_EQ(parse_byte_size("100kb"), 100000ull);
  EXPECT_EQ(parse_byte_size("10KiB"), 10240ull);
  EXPECT_EQ(parse_byte_size("1GiB"), 1ull << 30);
  EXPECT_EQ(parse_byte_size("4096"), 4096ull);
  for (const char* bad : {"", "GB", "2 GB", "2TB", "-1GB", "0MB", "1.5GB"}) EXPECT_THROW(parse_byte_size(bad), Error) << bad;
}
}  // namespace
}  // namespace sculpt
