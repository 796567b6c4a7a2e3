// Tensor: a row-major float buffer (64-byte aligned) with a shape. Copies share storage;
// views (reshape, row slices) alias their parent. Backends other than CPU will add a device
// tag here; nothing outside core/ assumes the data pointer is host memory except the CPU ops.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

namespace sculpt {

// A tensor's dimensions, stored inline, so that making a tensor never allocates: the training
// step makes dozens per step from its arena and must not touch the heap. At most kMaxRank
// dimensions; more is an Error.
class Shape {
 public:
  static constexpr size_t kMaxRank = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  Shape(const std::vector<int64_t>& dims) { assign(dims.data(), dims.data() + dims.size()); }  // NOLINT

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int64_t operator[](size_t i) const { return dims_[i]; }
  int64_t& operator[](size_t i) { return dims_[i]; }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + size_; }
  int64_t back() const { return dims_[size_ - 1]; }
  void push_back(int64_t dim);
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }
  friend bool operator==(const Shape& a, const Shape& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }

 private:
  void assign(const int64_t* first, const int64_t* last);
  std::array<int64_t, kMaxRank> dims_{};
  size_t size_ = 0;
};
std::ostream& operator<<(std::ostream& out, const Shape& shape);  // as shape_to_string

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
  // Elements [offset, offset + numel(shape)) as a tensor of `shape`, sharing this storage.
  Tensor view(int64_t offset, Shape shape) const;
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
