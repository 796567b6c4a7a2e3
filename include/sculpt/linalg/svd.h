// Thin SVD and the OSFT projection onto the orthogonal complement of a protected subspace.
#pragma once
#include <string>

#include "sculpt/core/tensor.h"

namespace sculpt {

struct Svd {
  Tensor u;   // (m, r) left singular vectors, columns orthonormal
  Tensor s;   // (r,)  singular values, descending
  Tensor vt;  // (r, n) right singular vectors as rows
};

// Thin SVD of a row-major m×n matrix (r = min(m, n)) with LAPACK's sgesdd (divide and conquer);
// falls back to sgesvd when sgesdd does not converge. `name` appears in errors.
Svd svd(const Tensor& a, const std::string& name = "matrix");

// In place: D ← (I − U_h U_hᵀ) D (I − V_hᵀ V_h), as four GEMMs.
// d: (N, M); u_h: (N, k) orthonormal columns; v_h: (k, M) orthonormal rows.
// `work` must hold at least k·max(N, M) floats; k = 0 leaves D unchanged.
void project_two_sided(float* d, const float* u_h, const float* v_h, int64_t n, int64_t m, int64_t k,
                       float* work);
void project_two_sided(Tensor& d, const Tensor& u_h, const Tensor& v_h);

// One side of the two-sided projection, given either by the protected basis (projected out) or,
// where the singular basis is complete (that side's dimension equals the rank), by its
// orthonormal complement (projected onto): I − U_hU_hᵀ = U_lU_lᵀ then, and with l = r − k < k
// columns the two GEMMs of that side cost l/k of the protected form's.
struct ProjectionSide {
  const float* basis;  // left: (N, dim) orthonormal columns; right: (dim, M) orthonormal rows
  int64_t dim;
  bool complement;  // basis spans the complement (project onto it) instead of the protected space
};
// D ← P_left D P_right with each side as above; `work` holds max(dims)·(max(N, M) + max(dims))
// floats.
void project_two_sided(float* d, ProjectionSide left, ProjectionSide right, int64_t n, int64_t m, float* work);

// In place: D ← D − U_h U_hᵀ D V_hᵀ V_h (only the protected–protected block is removed: the
// paper's printed formula). `work` holds at least k·M + k·k floats.
void project_block(float* d, const float* u_h, const float* v_h, int64_t n, int64_t m, int64_t k, float* work);

}  // namespace sculpt
