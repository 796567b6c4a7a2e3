// Tensor: a row-major buffer (64-byte aligned) of one element type with a shape, on a device.
// Copies share storage; views (reshape, row slices) alias their parent. data() and operator[]
// are the host fp32 view the CPU ops use: data() refuses any other dtype or device, data_as<T>()
// gives the elements of another dtype (bf16 as uint16_t bits). DESIGN §7.1.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "sculpt/core/device.h"
#include "sculpt/core/dtype.h"

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

// 64-byte aligned, zero-initialised host allocation of `bytes` bytes.
std::shared_ptr<std::byte> allocate_aligned_bytes(int64_t bytes);
// 64-byte aligned host allocation of `count` floats, NOT initialised: a page becomes resident only
// when first written, so an arena sized for a backward pass costs no memory in a forward-only use.
std::shared_ptr<float> allocate_uninitialized(int64_t count);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled host storage of `dtype` (any of core/dtype.h's).
  static Tensor zeros(Shape shape, DType dtype = DType::f32);
  static Tensor from(Shape shape, const std::vector<float>& values);
  // Non-owning view of external memory; `keep_alive` holds whatever owns it.
  static Tensor wrap(float* data, Shape shape, std::shared_ptr<void> keep_alive = nullptr);

  bool empty() const { return bytes_ == nullptr; }
  DType dtype() const { return dtype_; }
  const Device& device() const { return device_; }
  // The host fp32 elements; an Error for a tensor of another dtype or device (a bug in the caller:
  // the CPU fp32 ops were handed a tensor they cannot read).
  float* data() { return reinterpret_cast<float*>(host_bytes(DType::f32)); }
  const float* data() const { return reinterpret_cast<const float*>(host_bytes(DType::f32)); }
  // The host elements as T, whose size must be the dtype's (uint16_t for bf16 and f16 bits).
  template <typename T>
  T* data_as() {
    check_element_size(sizeof(T));
    return reinterpret_cast<T*>(host_bytes(dtype_));
  }
  template <typename T>
  const T* data_as() const {
    check_element_size(sizeof(T));
    return reinterpret_cast<const T*>(host_bytes(dtype_));
  }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const;  // negative i counts from the back
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  int64_t nbytes() const { return numel() * dtype_size(dtype_); }
  // Host fp32 element access for the CPU ops' inner loops: unchecked (data() checks once).
  float& operator[](int64_t i) { return reinterpret_cast<float*>(bytes_)[i]; }
  float operator[](int64_t i) const { return reinterpret_cast<const float*>(bytes_)[i]; }

  // Same storage, new shape (element count must match).
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) along the first axis, as a view.
  Tensor rows(int64_t begin, int64_t end) const;
  // Elements [offset, offset + numel(shape)) as a tensor of `shape`, sharing this storage.
  Tensor view(int64_t offset, Shape shape) const;
  // The same bytes read as `dtype` elements of `shape` (which must fit in them): scratch planned in
  // floats holding bf16 operands.
  Tensor reinterpret(DType dtype, Shape shape) const;
  // Where the first element lives, on any device: for telling whether two tensors are the same
  // array, never for reading it.
  const void* address() const { return bytes_; }
  // Deep copy into fresh storage.
  Tensor clone() const;
  void fill(float value);  // fp32 host tensors
  // Copies `other` (same element count) into this tensor, converting between fp32 and bf16 or f16
  // (round to nearest even) where the dtypes differ; other conversions are an Error.
  void copy_from(const Tensor& other);
  // A new host tensor of `dtype` with these values (a copy also when the dtype is the same).
  Tensor to(DType dtype) const;

 private:
  // The storage as bytes after checking that it is host memory of `dtype`.
  std::byte* host_bytes(DType dtype) const;
  void check_element_size(size_t size) const;

  std::shared_ptr<void> owner_;
  std::byte* bytes_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_;
};

}  // namespace sculpt
