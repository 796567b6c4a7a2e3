#include "sculpt/core/arena.h"

#include "sculpt/core/error.h"

namespace sculpt {

Arena::Arena(int64_t capacity_floats, std::string name)
    : block_(allocate_uninitialized(capacity_floats)), capacity_(capacity_floats), name_(std::move(name)) {}

int64_t Arena::footprint(const Shape& shape, DType dtype) {
  constexpr int64_t kAlignFloats = 16;  // 64 bytes
  const int64_t floats = (shape_numel(shape) * dtype_size(dtype) + 3) / 4;
  return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
}

Tensor Arena::alloc(const Shape& shape, DType dtype) {
  int64_t need = footprint(shape, dtype);
  // Not check(): its message would be built on every call, and a training step makes ~60 of them.
  if (used_ + need > capacity_)
    throw Error("out of planned memory: " + shape_to_string(shape) + " needs " + std::to_string(need) + " floats, " +
                    std::to_string(capacity_ - used_) + " left",
                name_, "the memory plan under-counts this buffer; this is a bug in sculpt");
  float* p = block_.get() + used_;
  used_ += need;
  Tensor t = Tensor::wrap(p, shape, block_);
  return dtype == DType::f32 ? t : t.reinterpret(dtype, shape);
}

}  // namespace sculpt
