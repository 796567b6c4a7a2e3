// Masked cross-entropy over the vocabulary, fused with its gradient.
#pragma once
#include <cstdint>

namespace sculpt {

// logits: (rows, V), overwritten with d(loss)/d(logits). Row r contributes
// weight[r] · (logsumexp(logits_r) − logits_r[target_r]); rows with weight 0 (prompt and padding)
// get a zero gradient. d/dlogits_r = weight[r] · (softmax(logits_r) − onehot(target_r)).
// Returns the weighted loss sum (double). Targets of weighted rows must lie in [0, V).
template <typename T>
double cross_entropy_forward_backward(T* logits, const int32_t* targets, const T* weight, int64_t rows, int64_t vocab);

}  // namespace sculpt
