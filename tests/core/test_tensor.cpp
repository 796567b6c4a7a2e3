#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "sculpt/core/arena.h"
#include "sculpt/core/error.h"
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

TEST(Arena, CarvesAlignedZeroedTensorsAndRefusesOverflow) {
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

}  // namespace
}  // namespace sculpt
