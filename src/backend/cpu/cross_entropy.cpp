#include "sculpt/backend/cpu/cross_entropy.h"

#include <algorithm>
#include <cmath>

#include "sculpt/backend/cpu/vexp.h"
#include "sculpt/core/error.h"
#include "sculpt/core/simd_clones.h"

namespace sculpt {

namespace {
// One weighted row, in place: logits (vocab,) → weight · (softmax − onehot(target)). Returns the
// row's loss weight · (logsumexp − logits[target]).
template <typename T>
SCULPT_SIMD_CLONES double softmax_cross_entropy_row(T* row, int32_t target, T weight, int64_t vocab) {
  T max_logit = row[0];
  // (A comparison, not std::max: GCC vectorises this form of the reduction and not std::max's.)
#pragma omp simd reduction(max : max_logit)
  for (int64_t i = 1; i < vocab; ++i) max_logit = row[i] > max_logit ? row[i] : max_logit;
  const double target_shifted = static_cast<double>(row[target]) - static_cast<double>(max_logit);
  // exp in the working precision (arguments are ≤ 0 after the shift). The sum: each block of 256
  // in the working precision (a vectorisable reduction; every term is in (0, 1], so a block's
  // relative rounding error stays below ~32 ulp), the blocks in double.
  constexpr int64_t kBlock = 256;
  double sum = 0.0;
  for (int64_t b = 0; b < vocab; b += kBlock) {
    const int64_t end = std::min(vocab, b + kBlock);
    T block = T(0);
#pragma omp simd reduction(+ : block)
    for (int64_t i = b; i < end; ++i) {
      row[i] = vexp(row[i] - max_logit);
      block += row[i];
    }
    sum += static_cast<double>(block);
  }
  const double lse_shifted = std::log(sum);  // lse − max
  const T factor = static_cast<T>(static_cast<double>(weight) / sum);
#pragma omp simd
  for (int64_t i = 0; i < vocab; ++i) row[i] *= factor;
  row[target] -= weight;
  return static_cast<double>(weight) * (lse_shifted - target_shifted);
}
}  // namespace

template <typename T>
double cross_entropy_forward_backward(T* logits, const int32_t* targets, const T* weight, int64_t rows, int64_t vocab) {
  for (int64_t r = 0; r < rows; ++r)
    if (weight[r] != T(0) && (targets[r] < 0 || targets[r] >= vocab))
      throw Error("target token " + std::to_string(targets[r]) + " outside the vocabulary (" + std::to_string(vocab) +
                      ")",
                  "cross-entropy", "the data was tokenized for another model");
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total) if (rows * vocab > (1 << 15))
  for (int64_t r = 0; r < rows; ++r) {
    T* row = logits + r * vocab;
    if (weight[r] == T(0))
      std::fill(row, row + vocab, T(0));
    else
      total += softmax_cross_entropy_row(row, targets[r], weight[r], vocab);
  }
  return total;
}

template double cross_entropy_forward_backward<float>(float*, const int32_t*, const float*, int64_t, int64_t);
template double cross_entropy_forward_backward<double>(double*, const int32_t*, const double*, int64_t, int64_t);

}  // namespace sculpt
