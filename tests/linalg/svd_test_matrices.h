// Matrices and factor slices shared by the SVD tests and OSFT's projection tests.
#pragma once
#include <cmath>
#include <cstdint>

#include "sculpt/core/rng.h"
#include "sculpt/core/tensor.h"
#include "sculpt/linalg/svd.h"

namespace sculpt::testing {

// An (m, n) matrix of standard normal entries from `seed`.
inline Tensor random_matrix(int64_t m, int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor a = Tensor::zeros({m, n});
  for (int64_t i = 0; i < a.numel(); ++i) a[i] = rng.normal();
  return a;
}

// ‖A‖_F accumulated in double.
inline double frobenius(const Tensor& a) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a[i]) * a[i];
  return std::sqrt(s);
}

// Top-k factors of `f`: u_h (n, k) = U's first k columns, s_h (k), v_h (k, m) = Vᵀ's first k rows.
struct TopK {
  Tensor u_h, s_h, v_h;
};
inline TopK top_k(const Svd& f, int64_t k) {
  const int64_t n = f.u.dim(0), r = f.s.numel();
  TopK t{Tensor::zeros({n, k}), Tensor::zeros({k}), f.vt.rows(0, k).clone()};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) t.u_h[i * k + c] = f.u[i * r + c];
  for (int64_t c = 0; c < k; ++c) t.s_h[c] = f.s[c];
  return t;
}

}  // namespace sculpt::testing
