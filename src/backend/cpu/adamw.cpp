#include "sculpt/backend/cpu/adamw.h"

#include <cmath>

#include "sculpt/backend/backend.h"

namespace sculpt {

namespace {
// One element of the step.
inline float adamw_element(const float g, float& m, float& v, const float w, const float b1, const float b2,
                           const float eps, const float wd, const float lr, const float inv_c1,
                           const float inv_sqrt_c2) {
  m = b1 * m + (1.f - b1) * g;
  v = b2 * v + (1.f - b2) * g * g;
  const float denom = std::sqrt(v) * inv_sqrt_c2 + eps;
  return lr * (m * inv_c1 / denom + wd * w);
}
}  // namespace

void adamw_span(int64_t n, float* w, float* g, float* m, float* v, const AdamWScalars& k, float grad_scale,
                bool defer) {
  // The scalars as locals, so the vectorised loops keep them in registers.
  const float b1 = k.beta1, b2 = k.beta2, eps = k.eps, wd = k.weight_decay, lr = k.lr, inv_c1 = k.inv_c1,
              inv_sqrt_c2 = k.inv_sqrt_c2;
  if (defer) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i)
      g[i] = adamw_element(g[i] * grad_scale, m[i], v[i], w[i], b1, b2, eps, wd, lr, inv_c1, inv_sqrt_c2);
    return;
  }
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i)
    w[i] -= adamw_element(g[i] * grad_scale, m[i], v[i], w[i], b1, b2, eps, wd, lr, inv_c1, inv_sqrt_c2);
}

}  // namespace sculpt
