// Tensor: a row-major float buffer (64-byte aligned) with a shape. Copies share storage;
// views (reshape, row slices) alias their parent. Backends other than CPU will add a device
// tag here; nothing outside core/ assumes the data pointer is host memory except the CPU ops.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace sculpt {

using Shape = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "(2, 3)"

// 64-byte aligned, zero-initialised host allocation of `count` floats.
std::shared_ptr<float> allocate_aligned(int64_t count);

class Tensor {
 public:
  Tensor() = default;
  static Tensor zeros(Shape shape);
  static Tensor from(Shape shape, const std::vector<float>& values);
  // Non-owning view of external memory; `keep_alive` holds whatever owns it.
  static Tensor wrap(float* data, Shape shape, std::shared_ptr<void> keep_alive = nullptr);

  bool empty() const { return data_ == nullptr; }
  float* data() { return data_; }
  const float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const;  // negative i counts from the back
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  // Same storage, new shape (element count must match).
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) along the first axis, as a view.
  Tensor rows(int64_t begin, int64_t end) const;
  // Deep copy into fresh storage.
  Tensor clone() const;
  void fill(float value);
  void copy_from(const Tensor& other);  // shapes must match in element count

 private:
  std::shared_ptr<void> owner_;
  float* data_ = nullptr;
  Shape shape_;
};

}  // namespace sculpt
