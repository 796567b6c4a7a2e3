// RMSNorm: y = x / sqrt(mean(x²) + eps) ⊙ w, over the last axis (HF LlamaRMSNorm).
#pragma once
#include <cstdint>

namespace sculpt {

// x, y: (rows, dim); weight: (dim,). y may alias x.
void rmsnorm_forward(const float* x, const float* weight, float* y, int64_t rows, int64_t dim, float eps);

}  // namespace sculpt
