#include "sculpt/core/flat_tensors.h"

namespace sculpt {

namespace {
constexpr int64_t kAlignFloats = 16;  // 64 bytes
}

FlatLayout flat_layout(const std::vector<Shape>& shapes) {
  FlatLayout layout;
  for (const Shape& s : shapes) {
    layout.offsets.push_back(layout.total);
    layout.total += (shape_numel(s) + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  }
  return layout;
}

FlatTensors allocate_flat(const std::vector<Shape>& shapes) {
  FlatTensors flat;
  flat.layout = flat_layout(shapes);
  flat.whole = Tensor::zeros({flat.layout.total});
  flat.views.reserve(shapes.size());
  for (size_t i = 0; i < shapes.size(); ++i)
    flat.views.push_back(flat.whole.view(flat.layout.offsets[i], shapes[i]));
  return flat;
}

}  // namespace sculpt
