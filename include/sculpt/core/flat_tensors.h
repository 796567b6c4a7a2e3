// Many tensors back to back in one allocation. Parameters, gradients and AdamW moments live this
// way (DESIGN §7.1, flat buffers), so that a pass over all of them (the optimizer step, gradient
// clipping, later an all-reduce or a sharded optimizer) is one loop over one buffer. Every view
// starts on a 64-byte boundary; the gaps between views are zero and stay zero under elementwise
// passes that map zero to zero (AdamW, scaling).
#pragma once
#include <cstdint>
#include <vector>

#include "sculpt/core/tensor.h"

namespace sculpt {

struct FlatLayout {
  std::vector<int64_t> offsets;  // element offset of each tensor
  int64_t total = 0;             // elements including the gaps
};

// The layout of `shapes` in order: the same shapes always give the same offsets, so buffers made
// for the model's parameters, their gradients and their moments line up element for element.
FlatLayout flat_layout(const std::vector<Shape>& shapes);

struct FlatTensors {
  Tensor whole;               // (layout.total,) zero-filled
  std::vector<Tensor> views;  // one per shape, aliasing `whole`
  FlatLayout layout;
};

FlatTensors allocate_flat(const std::vector<Shape>& shapes);

}  // namespace sculpt
