#include "sculpt/backend/cpu/rmsnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <omp.h>

namespace sculpt {

template <typename T>
void rmsnorm_forward(const T* x, const T* weight, T* y, int64_t rows, int64_t dim, T eps, T* inv_rms) {
#pragma omp parallel for schedule(static) if (rows * dim > (1 << 16))
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * dim;
    T* yr = y + r * dim;
    double sum_sq = 0.0;
#pragma omp simd reduction(+ : sum_sq)
    for (int64_t i = 0; i < dim; ++i) sum_sq += static_cast<double>(xr[i]) * xr[i];
    const T inv = static_cast<T>(1.0 / std::sqrt(sum_sq / static_cast<double>(dim) + eps));
    if (inv_rms) inv_rms[r] = inv;
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * weight[i];
  }
}

template <typename T>
void rmsnorm_backward(const T* x, const T* weight, const T* inv_rms, const T* dy, T* dx, T* dweight, int64_t rows,
                      int64_t dim, Write dx_write, Write dw_write) {
  // dweight is a reduction over rows: each thread sums into its own row of `partial`, then the
  // rows are added in thread order, so the result does not depend on scheduling. The buffer is
  // kept between calls (no allocation inside a training step).
  const int threads = rows * dim > (1 << 16) ? omp_get_max_threads() : 1;
  thread_local std::vector<double> partial;
  partial.assign(static_cast<size_t>(threads * dim), 0.0);
  double* const partial_data = partial.data();
#pragma omp parallel num_threads(threads)
  {
    double* my = partial_data + static_cast<int64_t>(omp_get_thread_num()) * dim;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * dim;
      const T* gr = dy + r * dim;
      const double inv = inv_rms[r];
      double dot = 0.0;  // Σ_j dy_j w_j x_j
#pragma omp simd reduction(+ : dot)
      for (int64_t i = 0; i < dim; ++i) dot += static_cast<double>(gr[i]) * weight[i] * xr[i];
      const double coef = dot * inv * inv * inv / static_cast<double>(dim);
      T* dxr = dx + r * dim;
      if (dx_write == Write::overwrite)
        for (int64_t i = 0; i < dim; ++i) dxr[i] = static_cast<T>(inv * gr[i] * weight[i] - coef * xr[i]);
      else
        for (int64_t i = 0; i < dim; ++i) dxr[i] += static_cast<T>(inv * gr[i] * weight[i] - coef * xr[i]);
      for (int64_t i = 0; i < dim; ++i) my[i] += static_cast<double>(gr[i]) * xr[i] * inv;
    }
  }
  if (dw_write == Write::overwrite) std::fill(dweight, dweight + dim, T(0));
  for (int t = 0; t < threads; ++t)
    for (int64_t i = 0; i < dim; ++i) dweight[i] += static_cast<T>(partial[t * dim + i]);
}

template void rmsnorm_forward<float>(const float*, const float*, float*, int64_t, int64_t, float, float*);
template void rmsnorm_forward<double>(const double*, const double*, double*, int64_t, int64_t, double, double*);
template void rmsnorm_backward<float>(const float*, const float*, const float*, const float*, float*, float*, int64_t,
                                      int64_t, Write, Write);
template void rmsnorm_backward<double>(const double*, const double*, const double*, const double*, double*, double*,
                                       int64_t, int64_t, Write, Write);

}  // namespace sculpt
