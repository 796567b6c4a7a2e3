#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sculpt/core/arena.h"
#include "sculpt/core/error.h"
#include "sculpt/core/memory.h"
#include "sculpt/core/tensor.h"

namespace sculpt {
namespace {

TEST(Shape, HoldsUpToSixDimensionsInline) {
  Shape s{2, 3};
  s.push_back(4);
  EXPECT_EQ(s, (Shape{2, 3, 4}));
  EXPECT_NE(s, (Shape{2, 3}));
  EXPECT_NE(s, (Shape{2, 3, 5}));
  EXPECT_EQ(s, Shape(std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(s.to_vector(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(shape_numel(s), 24);
  EXPECT_EQ(shape_to_string(s), "(2, 3, 4)");
  EXPECT_TRUE(Shape{}.empty());
  Shape six{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(six.back(), 6);
  EXPECT_THROW(six.push_back(7), Error);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5, 6, 7}), Error);
  EXPECT_THROW(Shape(std::vector<int64_t>(7, 1)), Error);
}

TEST(Tensor, ZerosAreAlignedAndZero) {
  Tensor t = Tensor::zeros({3, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  EXPECT_EQ(t.numel(), 15);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t[i], 0.f);
}

TEST(Tensor, ReshapeAndRowsAliasStorage) {
  Tensor t = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor flat = t.reshape({6});
  flat[4] = 50;
  EXPECT_EQ(t[4], 50);
  Tensor second = t.rows(1, 2);
  EXPECT_EQ(second.shape(), (Shape{1, 3}));
  EXPECT_EQ(second[0], 4);
  second[1] = -1;
  EXPECT_EQ(t[4], -1);
  EXPECT_THROW(t.reshape({4}), Error);
  EXPECT_THROW(t.rows(1, 3), Error);
}

TEST(Tensor, CloneIsDeep) {
  Tensor t = Tensor::from({2}, {1, 2});
  Tensor c = t.clone();
  c[0] = 9;
  EXPECT_EQ(t[0], 1);
}

TEST(Tensor, DimAcceptsNegativeIndices) {
  Tensor t = Tensor::zeros({2, 3, 4});
  EXPECT_EQ(t.dim(-1), 4);
  EXPECT_EQ(t.dim(0), 2);
  EXPECT_THROW(t.dim(3), Error);
  EXPECT_EQ(shape_to_string({2, 3}), "(2, 3)");
  EXPECT_EQ(shape_to_string({7}), "(7,)");
}

// The bits of a float and the float of bits: the oracle below reasons on them directly.
uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}
float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

TEST(TensorDType, Bf16StorageIsTwoBytesAlignedOnTheHost) {
  Tensor t = Tensor::zeros({3, 5}, DType::bf16);
  EXPECT_EQ(t.dtype(), DType::bf16);
  EXPECT_TRUE(t.device().is_host());
  EXPECT_EQ(device_name(t.device()), "cpu");
  EXPECT_EQ(device_name(Device{DeviceKind::cuda, 1}), "cuda:1");
  EXPECT_EQ(t.nbytes(), 30);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_as<uint16_t>()) % 64, 0u);
  for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.data_as<uint16_t>()[i], 0);
  // Row views step by the element size, not by floats.
  Tensor r = t.rows(1, 3);
  EXPECT_EQ(r.data_as<uint16_t>(), t.data_as<uint16_t>() + 5);
  EXPECT_EQ(t.view(7, {4}).data_as<uint16_t>(), t.data_as<uint16_t>() + 7);
  // The fp32 view of it, or elements of the wrong size, are refused with the dtype named.
  try {
    (void)t.data();
    ADD_FAILURE() << "a bf16 tensor was read as fp32";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a BF16 tensor on cpu of shape (3, 5) was read as host F32"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)t.data_as<float>(), Error);
  EXPECT_THROW((void)Tensor::zeros({2}).data_as<uint16_t>(), Error);
  // A clone is deep and keeps the dtype.
  t.data_as<uint16_t>()[4] = 0x3f80;  // 1.0
  Tensor c = t.clone();
  t.data_as<uint16_t>()[4] = 0;
  EXPECT_EQ(c.dtype(), DType::bf16);
  EXPECT_EQ(c.data_as<uint16_t>()[4], 0x3f80);
}

TEST(TensorDType, ReinterpretReadsTheSameBytesAsAnotherDtype) {
  Tensor f = Tensor::zeros({4});  // 16 bytes
  Tensor b = f.reinterpret(DType::bf16, {2, 4});
  EXPECT_EQ(b.dtype(), DType::bf16);
  EXPECT_EQ(b.address(), f.address());
  b.data_as<uint16_t>()[1] = 0x3f80;  // the high half of f[0] on a little-endian host: 1.0f
  EXPECT_EQ(f[0], 1.f);
  EXPECT_THROW((void)f.reinterpret(DType::bf16, {9}), Error);  // 18 bytes do not fit in 16
}

// f32 → bf16 rounds to the nearest bf16 value (ties to even), checked against the two bf16
// neighbours of each value computed from its bits; bf16 → f32 is exact.
TEST(TensorDType, Bf16ConversionRoundsToNearestAndWidensExactly) {
  std::vector<float> values = {0.f, -0.f, 1.f, -1.f, 3.14159265f, 1e-20f, -7.5e12f, 65504.f, 1.00390625f,
                               1.01171875f, 6.1e-5f, 123456.789f};
  for (int i = 0; i < 200; ++i) values.push_back(std::sin(0.37f * static_cast<float>(i)) * std::exp(0.11f * static_cast<float>(i - 100)));
  Tensor f = Tensor::from({static_cast<int64_t>(values.size())}, values);
  Tensor b = f.to(DType::bf16);
  Tensor back = b.to(DType::f32);
  ASSERT_EQ(back.dtype(), DType::f32);
  for (size_t i = 0; i < values.size(); ++i) {
    const float x = values[i], y = back[static_cast<int64_t>(i)];
    EXPECT_EQ(bits_of(y) & 0xffffu, 0u) << x;  // a bf16 value
    const float down = float_of(bits_of(x) & 0xffff0000u), up = float_of((bits_of(x) & 0xffff0000u) + 0x10000u);
    const double dd = std::fabs(static_cast<double>(x) - down), du = std::fabs(static_cast<double>(x) - up);
    if (dd < du) EXPECT_EQ(bits_of(y), bits_of(down)) << x;
    else if (du < dd) EXPECT_EQ(bits_of(y), bits_of(up)) << x;
    else EXPECT_EQ(bits_of(y) & 0x10000u, 0u) << x;  // a tie goes to the even one
    EXPECT_EQ(static_cast<uint32_t>(b.data_as<uint16_t>()[i]) << 16, bits_of(y)) << x;
  }
  // f16 holds these exactly, both ways.
  Tensor exact = Tensor::from({4}, {0.5f, -2.f, 1024.f, 0.099975586f});
  Tensor h = exact.to(DType::f16);
  EXPECT_EQ(h.nbytes(), 8);
  Tensor round_trip = h.to(DType::f32);
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(round_trip[i], exact[i]);
  // Conversions that would lose meaning silently are refused.
  EXPECT_THROW(Tensor::zeros({4}, DType::f16).copy_from(b.view(0, {4})), Error);
  EXPECT_THROW(Tensor::zeros({4}, DType::i32).copy_from(exact), Error);
}

TEST(Arena, CarvesAlignedTensorsAndRefusesOverflow) {
  Arena arena(Arena::footprint({3}) + Arena::footprint({5, 5}), "test arena");
  Tensor a = arena.alloc({3});
  Tensor b = arena.alloc({5, 5});
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 64, 0u);
  EXPECT_GE(b.data() - a.data(), 3);
  try {
    arena.alloc({1});
    FAIL() << "expected overflow";
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("test arena"), std::string::npos);
    EXPECT_NE(e.one_line().find("out of planned memory"), std::string::npos);
  }
  arena.reset();
  a[0] = 7;
  Tensor again = arena.alloc({3});
  EXPECT_EQ(again.data(), a.data());  // the same memory is handed out again
  EXPECT_EQ(again[0], 7.f);           // alloc does not initialise
}

// A graph's workspace is sized for its backward pass; a forward-only use (held-out loss, a
// calibration pass) must not pay for it: the block is reserved, and only written pages count.
TEST(Arena, OnlyWrittenPagesBecomeResident) {
  release_free_memory();
  const int64_t before = current_resident_bytes();
  Arena arena(int64_t{64} << 20, "test arena");  // 256 MiB
  Tensor small = arena.alloc({int64_t{4} << 20});  // 16 MiB of it, written
  std::fill(small.data(), small.data() + small.numel(), 1.f);
  const int64_t grown = current_resident_bytes() - before;
  EXPECT_GE(grown, int64_t{15} << 20);
  EXPECT_LT(grown, int64_t{48} << 20) << "the arena's unwritten pages are resident";
}

TEST(Arena, Bf16TensorsTakeHalfTheRoomAndStayAligned) {
  EXPECT_EQ(Arena::footprint({33}, DType::bf16), 32);  // 66 bytes: 17 floats, rounded to 16-float blocks
  EXPECT_EQ(Arena::footprint({32}, DType::bf16), 16);
  Arena arena(Arena::footprint({33}, DType::bf16) + Arena::footprint({2}), "test arena");
  Tensor h = arena.alloc({3, 11}, DType::bf16);
  Tensor f = arena.alloc({2});
  EXPECT_EQ(h.dtype(), DType::bf16);
  EXPECT_EQ(h.shape(), (Shape{3, 11}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data()) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<const std::byte*>(f.address()) - reinterpret_cast<const std::byte*>(h.address()), 128);
  EXPECT_THROW(arena.alloc({1}, DType::bf16), Error);
}

}  // namespace
}  // namespace sculpt
