// Rotary position embeddings in HF's half-split layout: for pair i of a head (i < d/2),
// (x_i, x_{i+d/2}) is rotated by angle pos · inv_freq_i, inv_freq_i = theta^(-2i/d), optionally
// rescaled as in Llama 3 (rope_scaling type "llama3") or linearly.
#pragma once
#include <cstdint>
#include <vector>

#include "sculpt/io/model_config.h"

namespace sculpt {

class RopeTable {
 public:
  RopeTable() = default;
  RopeTable(const ModelConfig& config, int64_t max_positions);
  int64_t max_positions() const { return max_positions_; }
  int64_t half() const { return half_; }
  // cos/sin of every pair at `pos`: (half,)
  template <typename T> const T* cos_at(int64_t pos) const;
  template <typename T> const T* sin_at(int64_t pos) const;
  // The per-pair inverse frequencies after scaling (exposed for tests).
  static std::vector<double> inverse_frequencies(const ModelConfig& config);

 private:
  int64_t max_positions_ = 0, half_ = 0;
  std::vector<float> cos_f_, sin_f_;   // (max_positions, half)
  std::vector<double> cos_d_, sin_d_;  // the same in double, for gradient checks
};

// x: (rows, n_heads * head_dim); row r sits at absolute position positions[r]. In place.
template <typename T>
void rope_forward(T* x, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                  const RopeTable& table);

// The rotation is orthogonal, so its backward is the inverse rotation (angle −θ), in place on dx.
template <typename T>
void rope_backward(T* dx, const int64_t* positions, int64_t rows, int64_t n_heads, int64_t head_dim,
                   const RopeTable& table);

}  // namespace sculpt
