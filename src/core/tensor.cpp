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

namespace {
std::shared_ptr<std::byte> aligned_block(int64_t count, bool zero) {
  constexpr size_t kAlign = 64;
  size_t bytes = static_cast<size_t>(std::max<int64_t>(count, 1));
  bytes = (bytes + kAlign - 1) / kAlign * kAlign;
  void* p = std::aligned_alloc(kAlign, bytes);
  if (!p) throw std::bad_alloc();
  if (zero) std::memset(p, 0, bytes);
  return std::shared_ptr<std::byte>(static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); });
}
}  // namespace

std::shared_ptr<std::byte> allocate_aligned_bytes(int64_t count) { return aligned_block(count, true); }

std::shared_ptr<float> allocate_uninitialized(int64_t count) {
  auto bytes = aligned_block(std::max<int64_t>(count, 1) * static_cast<int64_t>(sizeof(float)), false);
  return std::shared_ptr<float>(bytes, reinterpret_cast<float*>(bytes.get()));  // aliases the byte block
}

Tensor Tensor::zeros(Shape shape, DType dtype) {
  for (int64_t d : shape)
    if (d < 0) throw Error("negative dimension in shape " + shape_to_string(shape));
  Tensor t;
  auto storage = allocate_aligned_bytes(shape_numel(shape) * dtype_size(dtype));
  t.bytes_ = storage.get();
  t.owner_ = std::move(storage);
  t.shape_ = std::move(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::from(Shape shape, const std::vector<float>& values) {
  if (shape_numel(shape) != static_cast<int64_t>(values.size()))
    throw Error("Tensor::from: " + std::to_string(values.size()) + " values for shape " + shape_to_string(shape));
  Tensor t = zeros(std::move(shape));
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::wrap(float* data, Shape shape, std::shared_ptr<void> keep_alive) {
  Tensor t;
  t.bytes_ = reinterpret_cast<std::byte*>(data);
  t.shape_ = std::move(shape);
  t.owner_ = std::move(keep_alive);
  return t;
}

std::byte* Tensor::host_bytes(DType dtype) const {
  if (dtype_ != dtype || !device_.is_host())
    throw Error("a " + dtype_name(dtype_) + " tensor on " + device_name(device_) + " of shape " +
                    shape_to_string(shape_) + " was read as host " + dtype_name(dtype),
                "tensor", "this is a bug in sculpt: convert with Tensor::to or use the tensor's own backend");
  return bytes_;
}

void Tensor::check_element_size(size_t size) const {
  if (static_cast<int>(size) != dtype_size(dtype_))
    throw Error("a " + dtype_name(dtype_) + " tensor (" + std::to_string(dtype_size(dtype_)) +
                    "-byte elements) was read as " + std::to_string(size) + "-byte elements",
                "tensor", "this is a bug in sculpt");
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
  t.bytes_ = bytes_ + offset * dtype_size(dtype_);
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::reinterpret(DType dtype, Shape shape) const {
  if (shape_numel(shape) * dtype_size(dtype) > nbytes())
    throw Error(shape_to_string(shape) + " " + dtype_name(dtype) + " elements do not fit in the " +
                std::to_string(nbytes()) + " bytes of " + shape_to_string(shape_));
  Tensor t = *this;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::rows(int64_t begin, int64_t end) const {
  if (!(rank() >= 1 && begin >= 0 && begin <= end && end <= shape_[0]))
    throw Error("row range [" + std::to_string(begin) + ", " + std::to_string(end) + ") outside " +
                shape_to_string(shape_));
  int64_t row = rank() == 1 ? 1 : numel() / std::max<int64_t>(shape_[0], 1);
  Tensor t = *this;
  t.bytes_ = bytes_ + begin * row * dtype_size(dtype_);
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = zeros(shape_, dtype_);
  if (numel() > 0) std::memcpy(t.bytes_, host_bytes(dtype_), static_cast<size_t>(nbytes()));
  return t;
}

void Tensor::fill(float value) {
  // Parallel above 256 KiB: a fill of a whole gradient table (EWC, LoRA) or an embedding-sized
  // gradient is MiBs, and a serial fill leaves the other threads spinning in their barrier.
  const int64_t n = numel();
  float* x = data();
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) x[i] = value;
}

void Tensor::copy_from(const Tensor& other) {
  if (other.numel() != numel())
    throw Error("copy_from: " + shape_to_string(other.shape_) + " into " + shape_to_string(shape_));
  const int64_t n = numel();
  if (n == 0) return;
  if (other.dtype_ == dtype_) {
    std::memcpy(host_bytes(dtype_), other.host_bytes(dtype_), static_cast<size_t>(nbytes()));
    return;
  }
  const bool half = dtype_ == DType::bf16 || dtype_ == DType::f16;
  const bool other_half = other.dtype_ == DType::bf16 || other.dtype_ == DType::f16;
  if (dtype_ == DType::f32 && other_half) {  // widening is exact
    convert_to_f32(other.dtype_, other.host_bytes(other.dtype_), data(), n);
    return;
  }
  if (half && other.dtype_ == DType::f32) {  // rounding to nearest even
    const float* src = other.data();
    uint16_t* dst = data_as<uint16_t>();
    const bool bf16 = dtype_ == DType::bf16;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
    return;
  }
  throw Error("copy_from: no conversion from " + dtype_name(other.dtype_) + " to " + dtype_name(dtype_), "tensor",
              "convert through f32");
}

Tensor Tensor::to(DType dtype) const {
  Tensor t = zeros(shape_, dtype);
  t.copy_from(*this);
  return t;
}

}  // namespace sculpt
