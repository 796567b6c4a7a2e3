#include "sculpt/model/ops/cross_entropy.h"
#include "sculpt/model/ops/vexp.h"

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

template <typename T>
double cross_entropy_forward_backward(T* logits, const int32_t* targets, const T* weight, int64_t rows, int64_t vocab) {
  for (int64_t r = 0; r < rows; ++r)
    check(weight[r] == T(0) || (targets[r] >= 0 && targets[r] < vocab),
          "target token " + std::to_string(targets[r]) + " outside the vocabulary (" + std::to_string(vocab) + ")",
          "cross-entropy", "the data was tokenized for another model");
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (rows * vocab > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    T* row = logits + r * vocab;
    if (weight[r] == T(0)) {
      std::fill(row, row + vocab, T(0));
      continue;
    }
    const int32_t target = targets[r];
    const T max_logit = *std::max_element(row, row + vocab);
    const double target_shifted = static_cast<double>(row[target]) - static_cast<double>(max_logit);
    // exp in the working precision (arguments are ≤ 0 after the shift), sums in double.
    double sum = 0.0;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < vocab; ++i) {
      row[i] = vexp(row[i] - max_logit);
      sum += static_cast<double>(row[i]);
    }
    const double lse_shifted = std::log(sum);  // lse − max
    total += static_cast<double>(weight[r]) * (lse_shifted - target_shifted);
    const T factor = static_cast<T>(static_cast<double>(weight[r]) / sum);
#pragma omp simd
    for (int64_t i = 0; i < vocab; ++i) row[i] *= factor;
    row[target] -= weight[r];
  }
  return total;
}

template double cross_entropy_forward_backward<float>(float*, const int32_t*, const float*, int64_t, int64_t);
template double cross_entropy_forward_backward<double>(double*, const int32_t*, const double*, int64_t, int64_t);

}  // namespace sculpt
