#include "sculpt/model/ops/rope.h"

#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

std::vector<double> RopeTable::inverse_frequencies(const ModelConfig& config) {
  const int64_t d = config.head_dim;
  std::vector<double> inv(static_cast<size_t>(d / 2));
  for (int64_t i = 0; i < d / 2; ++i)
    inv[i] = 1.0 / std::pow(config.rope_theta, static_cast<double>(2 * i) / static_cast<double>(d));
  const RopeScaling& s = config.rope_scaling;
  if (s.type == "linear") {
    for (double& f : inv) f /= s.factor;
  } else if (s.type == "llama3") {
    // Long wavelengths are slowed by `factor`, short ones kept, the band between interpolated.
    const double old_len = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = old_len / s.low_freq_factor, high_wavelen = old_len / s.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen < high_wavelen) continue;
      if (wavelen > low_wavelen) {
        f /= s.factor;
      } else {
        const double smooth = (old_len / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1.0 - smooth) * f / s.factor + smooth * f;
      }
    }
  }
  return inv;
}

RopeTable::RopeTable(const ModelConfig& config, int64_t max_positions)
    : max_positions_(max_positions), half_(config.head_dim / 2) {
  const std::vector<double> inv = inverse_frequencies(config);
  const size_t n = static_cast<size_t>(max_positions * half_);
  cos_d_.resize(n);
  sin_d_.resize(n);
  cos_f_.resize(n);
  sin_f_.resize(n);
  for (int64_t p = 0; p < max_positions; ++p)
    for (int64_t i = 0; i < half_; ++i) {
      const double angle = static_cast<double>(p) * inv[i];
      cos_d_[p * half_ + i] = std::cos(angle);
      sin_d_[p * half_ + i] = std::sin(angle);
      cos_f_[p * half_ + i] = static_cast<float>(cos_d_[p * half_ + i]);
      sin_f_[p * half_ + i] = static_cast<float>(sin_d_[p * half_ + i]);
    }
}

template <> const float* RopeTable::cos_at<float>(int64_t pos) const { return cos_f_.data() + pos * half_; }
template <> const float* RopeTable::sin_at<float>(int64_t pos) const { return sin_f_.data() + pos * half_; }
template <> const double* RopeTable::cos_at<double>(int64_t pos) const { return cos_d_.data() + pos * half_; }
template <> const double* RopeTable::sin_at<double>(int64_t pos) const { return sin_d_.data() + pos * half_; }

namespace {
// Rotates every pair by +θ (sign = 1) or −θ (sign = −1).
template <typename T>
void rotate(T* x, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim, const RopeTable& table,
            T sign) {
  const int64_t half = head_dim / 2, width = n_heads * head_dim;
  for (int64_t r = 0; r < rows; ++r)
    if (positions[r] < 0 || positions[r] >= table.max_positions())
      throw Error("position " + std::to_string(positions[r]) + " outside the rotary table (" +
                      std::to_string(table.max_positions()) + " positions)",
                  "rope", "the sequence is longer than the context the model was set up for");
#pragma omp parallel for schedule(static) if (rows * width > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const T* c = table.cos_at<T>(positions[r]);
    const T* s = table.sin_at<T>(positions[r]);
    for (int64_t h = 0; h < n_heads; ++h) {
      T* a = x + r * width + h * head_dim;  // first halves
      T* b = a + half;                      // second halves
      for (int64_t i = 0; i < half; ++i) {
        const T x1 = a[i], x2 = b[i], si = sign * s[i];
        a[i] = x1 * c[i] - x2 * si;
        b[i] = x2 * c[i] + x1 * si;
      }
    }
  }
}
}  // namespace

template <typename T>
void rope_forward(T* x, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                  const RopeTable& table) {
  rotate(x, positions, rows, n_heads, head_dim, table, T(1));
}

template <typename T>
void rope_backward(T* dx, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                   const RopeTable& table) {
  rotate(dx, positions, rows, n_heads, head_dim, table, T(-1));
}

template void rope_forward<float>(float*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);
template void rope_forward<double>(double*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);
template void rope_backward<float>(float*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);
template void rope_backward<double>(double*, const int64_t*, int64_t, int64_t, int64_t, const RopeTable&);

}  // namespace sculpt
