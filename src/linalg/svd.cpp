#include "sculpt/linalg/svd.h"

#include <lapacke.h>

#include <algorithm>
#include <vector>

#include "sculpt/core/error.h"
#include "sculpt/linalg/blas.h"

namespace sculpt {

namespace {

// LAPACK sees our row-major A (m×n) as the column-major Aᵀ (n×m). Factoring Aᵀ = U' Σ V'ᵀ gives
// A = V' Σ U'ᵀ, and the column-major buffers LAPACK returns, read row-major, are exactly
// U_A = V' (m×r, from VT') and Vᵀ_A = U'ᵀ (r×n, from U'). No transposes are needed.
lapack_int run_gesdd(lapack_int rows, lapack_int cols, float* a, float* s, float* u, float* vt) {
  lapack_int r = std::min(rows, cols);
  std::vector<lapack_int> iwork(8 * static_cast<size_t>(r));
  float query = 0.f;
  lapack_int info = LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'S', rows, cols, a, rows, s, u, rows, vt, r, &query,
                                        -1, iwork.data());
  if (info != 0) return info;
  std::vector<float> work(static_cast<size_t>(query) + 1);
  return LAPACKE_sgesdd_work(LAPACK_COL_MAJOR, 'S', rows, cols, a, rows, s, u, rows, vt, r, work.data(),
                             static_cast<lapack_int>(work.size()), iwork.data());
}

lapack_int run_gesvd(lapack_int rows, lapack_int cols, float* a, float* s, float* u, float* vt) {
  lapack_int r = std::min(rows, cols);
  float query = 0.f;
  lapack_int info =
      LAPACKE_sgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', rows, cols, a, rows, s, u, rows, vt, r, &query, -1);
  if (info != 0) return info;
  std::vector<float> work(static_cast<size_t>(query) + 1);
  return LAPACKE_sgesvd_work(LAPACK_COL_MAJOR, 'S', 'S', rows, cols, a, rows, s, u, rows, vt, r, work.data(),
                             static_cast<lapack_int>(work.size()));
}

}  // namespace

Svd svd(const Tensor& a, const std::string& name) {
  check(a.rank() == 2, "svd expects a 2-D matrix, got " + shape_to_string(a.shape()), name);
  const int64_t m = a.dim(0), n = a.dim(1), r = std::min(m, n);
  check(r > 0, "svd of an empty matrix " + shape_to_string(a.shape()), name);
  // Column-major view: rows = n, cols = m.
  const auto rows = static_cast<lapack_int>(n), cols = static_cast<lapack_int>(m);
  Svd out{Tensor::zeros({m, r}), Tensor::zeros({r}), Tensor::zeros({r, n})};
  Tensor scratch = a.clone();  // LAPACK destroys its input
  // U' (n×r col-major) lands in out.vt; VT' (r×m col-major) lands in out.u.
  lapack_int info = run_gesdd(rows, cols, scratch.data(), out.s.data(), out.vt.data(), out.u.data());
  if (info > 0) {  // divide and conquer did not converge: retry with the QR-iteration driver
    scratch.copy_from(a);
    info = run_gesvd(rows, cols, scratch.data(), out.s.data(), out.vt.data(), out.u.data());
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

void project_two_sided(float* d, ProjectionSide left, ProjectionSide right, int64_t n, int64_t m, float* work) {
  // Left.  work = Bᵀ D (dim×M);  protected: D ← D − B·work;  complement: D ← B·work.
  if (left.complement || left.dim > 0) {
    gemm(Trans::yes, Trans::no, left.dim, m, n, 1.f, left.basis, left.dim, d, m, 0.f, work, m);
    gemm(Trans::no, Trans::no, n, m, left.dim, left.complement ? 1.f : -1.f, left.basis, left.dim, work, m,
         left.complement ? 0.f : 1.f, d, m);
  }
  // Right. work = D Bᵀ (N×dim);  protected: D ← D − work·B;  complement: D ← work·B.
  if (right.complement || right.dim > 0) {
    gemm(Trans::no, Trans::yes, n, right.dim, m, 1.f, d, m, right.basis, m, 0.f, work, right.dim);
    gemm(Trans::no, Trans::no, n, m, right.dim, right.complement ? 1.f : -1.f, work, right.dim, right.basis, m,
         right.complement ? 0.f : 1.f, d, m);
  }
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

void project_two_sided(Tensor& d, const Tensor& u_h, const Tensor& v_h) {
  check(d.rank() == 2 && u_h.rank() == 2 && v_h.rank() == 2, "project_two_sided expects 2-D tensors");
  const int64_t n = d.dim(0), m = d.dim(1), k = u_h.dim(1);
  check(u_h.dim(0) == n && v_h.dim(0) == k && v_h.dim(1) == m,
        "project_two_sided shapes disagree: D " + shape_to_string(d.shape()) + ", U_h " +
            shape_to_string(u_h.shape()) + ", V_h " + shape_to_string(v_h.shape()));
  Tensor work = Tensor::zeros({k * std::max(n, m)});
  project_two_sided(d.data(), u_h.data(), v_h.data(), n, m, k, work.data());
}

}  // namespace sculpt
