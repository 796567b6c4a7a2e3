// log Σ_v exp(logits_v) of one row of logits, in double with the row's maximum taken out first:
// the normaliser of the log-probabilities that evaluation reads off logits.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sculpt {

inline double log_sum_exp(const float* logits, int64_t vocab) {
  const double top = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(logits[v]) - top);
  return top + std::log(sum);
}

}  // namespace sculpt
