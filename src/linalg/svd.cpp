#include "sculpt/linalg/svd.h"

#include <lapacke.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "sculpt/core/error.h"
#include "sculpt/linalg/blas.h"

namespace sculpt {

namespace {

// LAPACK sees our row-major A (m×n) as the column-major Aᵀ (n×m). Factoring Aᵀ = U' Σ V'ᵀ gives
// A = V' Σ U'ᵀ, and the column-major buffers LAPACK returns, read row-major, are exactly
// U_A = V' (m×r, from VT') and Vᵀ_A = U'ᵀ (r×n, from U'). No transposes are needed.
// ?gesdd / ?gesvd for T = float or double, with their workspace queries.
template <class T>
lapack_int run_gesdd(lapack_int rows, lapack_int cols, T* a, T* s, T* u, T* vt) {
  constexpr bool f32 = std::is_same_v<T, float>;
  auto call = [&](T* work, lapack_int lwork, lapack_int* iwork) {
    if constexpr (f32)
      return LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'S', rows, cols, a, rows, s, u, rows, vt,
                                 std::min(rows, cols), work, lwork, iwork);
    else
      return LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'S', rows, cols, a, rows, s, u, rows, vt,
                                 std::min(rows, cols), work, lwork, iwork);
  };
  std::vector<lapack_int> iwork(8 * static_cast<size_t>(std::min(rows, cols)));
  T query = 0;
  lapack_int info = call(&query, -1, iwork.data());
  if (info != 0) return info;
  std::vector<T> work(static_cast<size_t>(query) + 1);
  return call(work.data(), static_cast<lapack_int>(work.size()), iwork.data());
}

template <class T>
lapack_int run_gesvd(lapack_int rows, lapack_int cols, T* a, T* s, T* u, T* vt) {
  constexpr bool f32 = std::is_same_v<T, float>;
  auto call = [&](T* work, lapack_int lwork) {
    if constexpr (f32)
      return LAPACKE_sgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', rows, cols, a, rows, s, u, rows, vt,
                                 std::min(rows, cols), work, lwork);
    else
      return LAPACKE_dgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', rows, cols, a, rows, s, u, rows, vt,
                                 std::min(rows, cols), work, lwork);
  };
  T query = 0;
  lapack_int info = call(&query, -1);
  if (info != 0) return info;
  std::vector<T> work(static_cast<size_t>(query) + 1);
  return call(work.data(), static_cast<lapack_int>(work.size()));
}

// The factorisation in T of the column-major rows×cols matrix `source` (fp32, converted into a
// scratch copy that LAPACK destroys): divide and conquer, or QR iteration where that does not
// converge. Outputs as run_gesdd's.
template <class T>
lapack_int factorise(lapack_int rows, lapack_int cols, const float* source, T* s, T* u, T* vt) {
  const size_t count = static_cast<size_t>(rows) * static_cast<size_t>(cols);
  std::vector<T> a(source, source + count);
  lapack_int info = run_gesdd(rows, cols, a.data(), s, u, vt);
  if (info > 0) {  // divide and conquer did not converge: retry with the QR-iteration driver
    a.assign(source, source + count);
    info = run_gesvd(rows, cols, a.data(), s, u, vt);
  }
  return info;
}

}  // namespace

Svd svd(const Tensor& a, const std::string& name, SvdPrecision precision) {
  check(a.rank() == 2, "svd expects a 2-D matrix, got " + shape_to_string(a.shape()), name);
  const int64_t m = a.dim(0), n = a.dim(1), r = std::min(m, n);
  check(r > 0, "svd of an empty matrix " + shape_to_string(a.shape()), name);
  // Column-major view: rows = n, cols = m.
  const auto rows = static_cast<lapack_int>(n), cols = static_cast<lapack_int>(m);
  Svd out{Tensor::zeros({m, r}), Tensor::zeros({r}), Tensor::zeros({r, n})};
  // U' (n×r col-major) lands in out.vt; VT' (r×m col-major) lands in out.u.
  lapack_int info = 0;
  if (precision == SvdPrecision::f32) {
    info = factorise(rows, cols, a.data(), out.s.data(), out.vt.data(), out.u.data());
  } else {
    std::vector<double> s(static_cast<size_t>(r)), u(static_cast<size_t>(m * r)), vt(static_cast<size_t>(r * n));
    info = factorise(rows, cols, a.data(), s.data(), vt.data(), u.data());
    for (int64_t i = 0; i < r; ++i) out.s[i] = static_cast<float>(s[static_cast<size_t>(i)]);
    for (int64_t i = 0; i < m * r; ++i) out.u[i] = static_cast<float>(u[static_cast<size_t>(i)]);
    for (int64_t i = 0; i < r * n; ++i) out.vt[i] = static_cast<float>(vt[static_cast<size_t>(i)]);
  }
  check(info == 0, "SVD failed (LAPACK info = " + std::to_string(info) + ") for shape " + shape_to_string(a.shape()),
        name, info < 0 ? "invalid argument passed to LAPACK; this is a bug in sculpt"
                       : "the matrix may contain NaN or Inf values");
  return out;
}

}  // namespace sculpt
