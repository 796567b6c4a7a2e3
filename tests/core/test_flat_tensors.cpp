// One buffer for many tensors: aligned, disjoint views in order, zero gaps, a layout that depends
// on the shapes alone.
#include <gtest/gtest.h>

#include <cstdint>

#include "sculpt/core/flat_tensors.h"

namespace sculpt {
namespace {

TEST(FlatTensors, ViewsAreAlignedDisjointAndInOrder) {
  const std::vector<Shape> shapes = {{3, 5}, {1}, {16}, {7, 1, 3}, {0}, {33}};
  FlatTensors flat = allocate_flat(shapes);
  ASSERT_EQ(flat.views.size(), shapes.size());
  int64_t end = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Tensor& v = flat.views[i];
    EXPECT_EQ(v.shape(), shapes[i]);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v.data()) % 64, 0u) << i;
    EXPECT_EQ(v.data(), flat.whole.data() + flat.layout.offsets[i]);
    EXPECT_GE(flat.layout.offsets[i], end) << i;  // after the previous view
    end = flat.layout.offsets[i] + v.numel();
  }
  EXPECT_GE(flat.layout.total, end);
  EXPECT_EQ(flat.whole.numel(), flat.layout.total);
  // Writing every view leaves exactly the gaps at zero.
  for (auto& v : flat.views) v.fill(1.f);
  int64_t ones = 0;
  for (int64_t k = 0; k < flat.whole.numel(); ++k) ones += flat.whole[k] == 1.f;
  int64_t elements = 0;
  for (const auto& s : shapes) elements += shape_numel(s);
  EXPECT_EQ(ones, elements);
  // The views keep the buffer alive.
  Tensor kept = flat.views[3];
  flat = FlatTensors{};
  EXPECT_EQ(kept[0], 1.f);
}

TEST(FlatTensors, TheSameShapesGiveTheSameLayout) {
  const std::vector<Shape> shapes = {{64, 48}, {48}, {17, 3}};
  const FlatLayout a = flat_layout(shapes), b = allocate_flat(shapes).layout;
  EXPECT_EQ(a.offsets, b.offsets);
  EXPECT_EQ(a.total, b.total);
  EXPECT_EQ(a.offsets, (std::vector<int64_t>{0, 64 * 48, 64 * 48 + 48}));
}

}  // namespace
}  // namespace sculpt
