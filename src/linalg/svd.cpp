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
