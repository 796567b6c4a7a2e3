#include "sculpt/model/ops/cross_entropy.h"

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
    double sum = 0.0;
    for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(row[i] - max_logit));
    const double lse = static_cast<double>(max_logit) + std::log(sum);
    total += static_cast<double>(weight[r]) * (lse - static_cast<double>(row[target]));
    for (int64_t i = 0; i < vocab; ++i)
      row[i] = static_cast<T>(weight[r] * std::exp(static_cast<double>(row[i]) - lse));
    row[target] -= weight[r];
  }
  return total;
}

template double cross_entropy_forward_backward<float>(float*, const int32_t*, const float*, int64_t, int64_t);
template double cross_entropy_forward_backward<double>(double*, const int32_t*, const double*, int64_t, int64_t);

}  // namespace sculpt
