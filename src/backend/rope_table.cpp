#include "sculpt/backend/rope_table.h"

#include <cmath>

namespace sculpt {

RopeTable::RopeTable(const std::vector<double>& inv, int64_t max_positions)
    : max_positions_(max_positions), half_(static_cast<int64_t>(inv.size())) {
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

}  // namespace sculpt
