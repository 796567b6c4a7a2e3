#include "sculpt/core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

#include "sculpt/core/error.h"

namespace sculpt {

void Shape::assign(const int64_t* first, const int64_t* last) {
  if (static_cast<size_t>(last - first) > kMaxRank)
    throw Error("a shape has " + std::to_string(last - first) + " dimensions; tensors have at most " +
                std::to_string(kMaxRank));
  std::copy(first, last, dims_.begin());
  size_ = static_cast<size_t>(last - first);
}

void Shape::push_back(int64_t dim) {
  if (size_ == kMaxRank) throw Error("a shape has more than " + std::to_string(kMaxRank) + " dimensions");
  dims_[size_++] = dim;
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) { return out << shape_to_string(shape); }

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::ostringstream out;
  out << '(';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << (shape.size() == 1 ? ",)" : ")");
  return out.str();
}

std::shared_ptr<float> allocate_aligned(int64_t count) {
  constexpr size_t kAlign = 64;
  size_t bytes = static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(float);
  bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return std::shared_ptr<float>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

Tensor Tensor::zeros(Shape shape) {
  for (int64_t d : shape)
    if (d < 0) throw Error("negative dimension in shape " + shape_to_string(shape));
  Tensor t;
  auto storage = allocate_aligned(shape_numel(shape));
  t.data_ = storage.get();
  t.owner_ = std::move(storage);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::from(Shape shape, const std::vector<float>& values) {
  if (shape_numel(shape) != static_cast<int64_t>(values.size()))
    throw Error("Tensor::from: " + std::to_string(values.size()) + " values for shape " + shape_to_string(shape));
  Tensor t = zeros(std::move(shape));
  std::copy(values.begin(), values.end(), t.data_);
  return t;
}

Tensor Tensor::wrap(float* data, Shape shape, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.data_ = data;
  t.shape_ = std::move(shape);
  t.owner_ = std::move(keep_alive);
  return t;
}

int64_t Tensor::dim(int i) const {
  int r = rank();
  int j = i < 0 ? r + i : i;
  if (j < 0 || j >= r)
    throw Error("dimension " + std::to_string(i) + " out of range for shape " + shape_to_string(shape_));
  return shape_[j];
}

Tensor Tensor::reshape(Shape shape) const {
  if (shape_numel(shape) != numel())
    throw Error("cannot reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape));
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::view(int64_t offset, Shape shape) const {
  if (!(offset >= 0 && offset + shape_numel(shape) <= numel()))
    throw Error("view of " + std::to_string(shape_numel(shape)) + " elements at " + std::to_string(offset) +
                " outside " + shape_to_string(shape_));
  Tensor t = *this;
  t.data_ = data_ + offset;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  if (!(rank() >= 1 && begin >= 0 && begin <= end && end <= shape_[0]))
    throw Error("row range [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside " +
                shape_to_string(shape_));
  int64_t row = rank() == 1 ? 1 : numel() / std::max<int64_t>(shape_[0], 1);
  Tensor t = *this;
  t.data_ = data_ + begin * row;
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = zeros(shape_);
  if (numel() > 0) std::memcpy(t.data_, data_, sizeof(float) * numel());
  return t;
}

void Tensor::fill(float value) {
  // Parallel above 256 KiB: a fill of a whole gradient table (EWC, LoRA) or an embedding-sized
  // gradient is MiBs, and a serial fill leaves the other threads spinning in their barrier.
  const int64_t n = numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) data_[i] = value;
}

void Tensor::copy_from(const Tensor& other) {
  if (other.numel() != numel())
    throw Error("copy_from: " + shape_to_string(other.shape_) + " into " + shape_to_string(shape_));
  if (numel() > 0) std::memcpy(data_, other.data_, sizeof(float) * numel());
}

}  // namespace sculpt
