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

void project_two_sided(float* d, const float* u_h, const float* v_h, int64_t n, int64_t m, int64_t k,
                       float* work) {
  project_two_sided(d, ProjectionSide{u_h, k, false}, ProjectionSide{v_h, k, false}, n, m, work);
}

namespace {
// X (rows×cols) ← X − B Bᵀ X with B (rows×dim) orthonormal columns; work: dim·cols.
void remove_left(float* x, const float* b, int64_t dim, int64_t rows, int64_t cols, float* work) {
  if (dim == 0) return;
  gemm(Trans::yes, Trans::no, dim, cols, rows, 1.f, b, dim, x, cols, 0.f, work, cols);
  gemm(Trans::no, Trans::no, rows, cols, dim, -1.f, b, dim, work, cols, 1.f, x, cols);
}
// X (rows×cols) ← X − X Bᵀ B with B (dim×cols) orthonormal rows; work: rows·dim.
void remove_right(float* x, const float* b, int64_t dim, int64_t rows, int64_t cols, float* work) {
  if (dim == 0) return;
  gemm(Trans::no, Trans::yes, rows, dim, cols, 1.f, x, cols, b, cols, 0.f, work, dim);
  gemm(Trans::no, Trans::no, rows, cols, dim, -1.f, work, dim, b, cols, 1.f, x, cols);
}
}  // namespace

void project_two_sided(float* d, ProjectionSide left, ProjectionSide right, int64_t n, int64_t m, float* work) {
  // A side given by its complement basis C makes the result low-rank: P_C D = C (Cᵀ D). The other
  // side is then applied to the small factor Cᵀ D (dim×M) or D Cᵀ (N×dim) rather than to D, which
  // for a tall or wide target (one side complete, the other not) halves the multiply-adds.
  if (left.complement) {
    float* core = work;                    // Lᵀ D (l×M)
    float* rest = work + left.dim * m;     // scratch of the right side: l·dim
    gemm(Trans::yes, Trans::no, left.dim, m, n, 1.f, left.basis, left.dim, d, m, 0.f, core, m);
    if (right.complement) {                // core ← (core Rᵀ) R
      gemm(Trans::no, Trans::yes, left.dim, right.dim, m, 1.f, core, m, right.basis, m, 0.f, rest, right.dim);
      gemm(Trans::no, Trans::no, left.dim, m, right.dim, 1.f, rest, right.dim, right.basis, m, 0.f, core, m);
    } else {
      remove_right(core, right.basis, right.dim, left.dim, m, rest);
    }
    gemm(Trans::no, Trans::no, n, m, left.dim, 1.f, left.basis, left.dim, core, m, 0.f, d, m);  // D = L core
    return;
  }
  if (right.complement) {
    float* core = work;                    // D Rᵀ (N×l)
    float* rest = work + n * right.dim;    // scratch of the left side: dim·l
    gemm(Trans::no, Trans::yes, n, right.dim, m, 1.f, d, m, right.basis, m, 0.f, core, right.dim);
    remove_left(core, left.basis, left.dim, n, right.dim, rest);
    gemm(Trans::no, Trans::no, n, m, right.dim, 1.f, core, right.dim, right.basis, m, 0.f, d, m);  // D = core R
    return;
  }
  remove_left(d, left.basis, left.dim, n, m, work);
  remove_right(d, right.basis, right.dim, n, m, work);
}

void project_block(float* d, const float* u_h, const float* v_h, int64_t n, int64_t m, int64_t k, float* work) {
  if (k == 0) return;
  float* left = work;            // U_hᵀ D      (k×M)
  float* core = work + k * m;    // U_hᵀ D V_hᵀ (k×k)
  gemm(Trans::yes, Trans::no, k, m, n, 1.f, u_h, k, d, m, 0.f, left, m);
  gemm(Trans::no, Trans::yes, k, k, m, 1.f, left, m, v_h, m, 0.f, core, k);
  gemm(Trans::no, Trans::no, k, m, k, 1.f, core, k, v_h, m, 0.f, left, m);  // core · V_h (k×M)
  gemm(Trans::no, Trans::no, n, m, k, -1.f, u_h, k, left, m, 1.f, d, m);
}

namespace {
// x (k×M) ← x − Σ_hV_h; y (N×k) ← y − U_hΣ_h.
void subtract_sigma_v(float* x, const float* s_h, const float* v_h, int64_t k, int64_t m) {
  for (int64_t c = 0; c < k; ++c)
    for (int64_t j = 0; j < m; ++j) x[c * m + j] -= s_h[c] * v_h[c * m + j];
}
void subtract_u_sigma(float* y, const float* u_h, const float* s_h, int64_t n, int64_t k) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) y[i * k + c] -= u_h[i * k + c] * s_h[c];
}
}  // namespace

void restore_two_sided(float* w, const float* u_h, const float* s_h, const float* v_h, int64_t n, int64_t m,
                       int64_t k, float* work) {
  if (k == 0) return;
  // Rows: A = U_hᵀW − Σ_hV_h (k×M); W ← W − U_h A, after which U_hᵀW = Σ_hV_h.
  gemm(Trans::yes, Trans::no, k, m, n, 1.f, u_h, k, w, m, 0.f, work, m);
  subtract_sigma_v(work, s_h, v_h, k, m);
  gemm(Trans::no, Trans::no, n, m, k, -1.f, u_h, k, work, m, 1.f, w, m);
  // Columns: B = WV_hᵀ − U_hΣ_h (N×k); W ← W − B V_h, after which WV_hᵀ = U_hΣ_h and, since
  // U_hᵀB = Σ_hV_hV_hᵀ − Σ_h = 0, the rows stay restored.
  gemm(Trans::no, Trans::yes, n, k, m, 1.f, w, m, v_h, m, 0.f, work, k);
  subtract_u_sigma(work, u_h, s_h, n, k);
  gemm(Trans::no, Trans::no, n, m, k, -1.f, work, k, v_h, m, 1.f, w, m);
}

void restore_block(float* w, const float* u_h, const float* s_h, const float* v_h, int64_t n, int64_t m, int64_t k,
                   float* work) {
  if (k == 0) return;
  float* left = work;          // U_hᵀW (k×M), later (G − Σ_h)V_h
  float* core = work + k * m;  // G = U_hᵀWV_hᵀ (k×k), then G − Σ_h
  gemm(Trans::yes, Trans::no, k, m, n, 1.f, u_h, k, w, m, 0.f, left, m);
  gemm(Trans::no, Trans::yes, k, k, m, 1.f, left, m, v_h, m, 0.f, core, k);
  for (int64_t c = 0; c < k; ++c) core[c * k + c] -= s_h[c];
  gemm(Trans::no, Trans::no, k, m, k, 1.f, core, k, v_h, m, 0.f, left, m);
  gemm(Trans::no, Trans::no, n, m, k, -1.f, u_h, k, left, m, 1.f, w, m);
}

std::pair<double, double> protected_drift_sq(const float* w, const float* u_h, const float* s_h, const float* v_h,
                                             int64_t n, int64_t m, int64_t k, float* work) {
  if (k == 0) return {0.0, 0.0};
  double rows = 0, cols = 0;
  gemm(Trans::yes, Trans::no, k, m, n, 1.f, u_h, k, w, m, 0.f, work, m);
  subtract_sigma_v(work, s_h, v_h, k, m);
  for (int64_t j = 0; j < k * m; ++j) rows += static_cast<double>(work[j]) * work[j];
  gemm(Trans::no, Trans::yes, n, k, m, 1.f, w, m, v_h, m, 0.f, work, k);
  subtract_u_sigma(work, u_h, s_h, n, k);
  for (int64_t j = 0; j < n * k; ++j) cols += static_cast<double>(work[j]) * work[j];
  return {rows, cols};
}

void project_two_sided(Tensor& d, const Tensor& u_h, const Tensor& v_h) {
  check(d.rank() == 2 && u_h.rank() == 2 && v_h.rank() == 2, "project_two_sided expects 2-D tensors");
  const int64_t n = d.dim(0), m = d.dim(1), k = u_h.dim(1);
  check(u_h.dim(0) == n && v_h.dim(0) == k && v_h.dim(1) == m,
        "project_two_sided shapes disagree: D " + shape_to_string(d.shape()) + ", U_h " +
            shape_to_string(u_h.shape()) + ", V_h " + shape_to_string(v_h.shape()));
  Tensor work = Tensor::zeros({k * std::max(n, m) + k * k});
  project_two_sided(d.data(), u_h.data(), v_h.data(), n, m, k, work.data());
}

}  // namespace sculpt
