// The cos/sin of every rotary pair at every position, computed once in double from a model's
// inverse frequencies (model/rope_frequencies.h) and kept in float and double: every backend's
// RoPE reads it, and the double copy serves the gradient checks.
#pragma once
#include <cstdint>
#include <vector>

namespace sculpt {

class RopeTable {
 public:
  RopeTable() = default;
  // inverse_frequencies: (head_dim / 2,), pair i's angle per position (model/rope_frequencies.h).
  RopeTable(const std::vector<double>& inverse_frequencies, int64_t max_positions);
  int64_t max_positions() const { return max_positions_; }
  int64_t half() const { return half_; }
  // cos/sin of every pair at `pos`: (half,)
  template <typename T> const T* cos_at(int64_t pos) const;
  template <typename T> const T* sin_at(int64_t pos) const;

 private:
  int64_t max_positions_ = 0, half_ = 0;
  std::vector<float> cos_f_, sin_f_;   // (max_positions, half)
  std::vector<double> cos_d_, sin_d_;  // the same in double, for gradient checks
};

}  // namespace sculpt
