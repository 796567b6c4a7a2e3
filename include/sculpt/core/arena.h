// Arena: one aligned block carved into tensors by bumping an offset. Sized up front from the
// model config and batch shape (see model/memory_plan.h), so a forward pass allocates nothing.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "sculpt/core/tensor.h"

namespace sculpt {

class Arena {
 public:
  Arena() = default;
  explicit Arena(int64_t capacity_floats, std::string name = "arena");

  // A view of `shape` elements of `dtype`, NOT initialised (every buffer of a pass is written
  // before it is read; zeroing them all costs a memset per step); throws when the plan was too
  // small.
  Tensor alloc(const Shape& shape, DType dtype = DType::f32);
  void reset() { used_ = 0; }
  int64_t capacity() const { return capacity_; }
  int64_t used() const { return used_; }
  // Floats one allocation of `shape` takes, rounded to the 64-byte alignment (two bf16 to a float).
  static int64_t footprint(const Shape& shape, DType dtype = DType::f32);

 private:
  std::shared_ptr<float> block_;
  int64_t capacity_ = 0;
  int64_t used_ = 0;
  std::string name_;
};

}  // namespace sculpt
