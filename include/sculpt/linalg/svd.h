// Thin SVD and the OSFT projection onto the orthogonal complement of a protected subspace.
#pragma once
#include <string>
#include <utility>

#include "sculpt/core/tensor.h"

namespace sculpt {

struct Svd {
  Tensor u;   // (m, r) left singular vectors, columns orthonormal
  Tensor s;   // (r,)  singular values, descending
  Tensor vt;  // (r, n) right singular vectors as rows
};

// The arithmetic the factorisation runs in; the factors are fp32 either way. f64 (dgesdd on the
// fp32 input, the factors rounded once) leaves residuals like U_hᵀA − Σ_hV_h at fp32 rounding
// (~1e-7 relative), where f32's own arithmetic leaves ~1e-6; OSFT's W₀-free repair rests on
// them (DESIGN §1). It costs about 1.8× the time (measured on SmolLM2's target shapes).
enum class SvdPrecision { f32, f64 };

// Thin SVD of a row-major m×n matrix (r = min(m, n)) with LAPACK's ?gesdd (divide and conquer);
// falls back to ?gesvd when ?gesdd does not converge. `name` appears in errors.
Svd svd(const Tensor& a, const std::string& name = "matrix", SvdPrecision precision = SvdPrecision::f32);

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

// OSFT's update-mode repair without a copy of W₀ (DESIGN §1). For task-start weights
// W₀ = UΣV, U_hᵀW₀ = Σ_hV_h and W₀V_hᵀ = U_hΣ_h, so W₀ − P(W₀) = U_hΣ_hV_h for both projections
// and W₀ + P(W − W₀) = P(W) + U_hΣ_hV_h. It is computed as corrections of the protected block's
// drift, which is small, so their rounding is relative to the drift, not to W:
//   two-sided: W ← W − U_h(U_hᵀW − Σ_hV_h);  W ← W − (WV_hᵀ − U_hΣ_h)V_h   (4·k·N·M mult-adds)
//   block:     W ← W − U_h(U_hᵀWV_hᵀ − Σ_h)V_h
// w: (N, M); u_h: (N, k); s_h: (k,); v_h: (k, M). `work` holds k·max(N, M) + k·k floats.
void restore_two_sided(float* w, const float* u_h, const float* s_h, const float* v_h, int64_t n, int64_t m,
                       int64_t k, float* work);
void restore_block(float* w, const float* u_h, const float* s_h, const float* v_h, int64_t n, int64_t m, int64_t k,
                   float* work);
// ‖U_hᵀW − Σ_hV_h‖²_F and ‖WV_hᵀ − U_hΣ_h‖²_F: how far W's protected rows and columns are from
// W₀'s (zero right after a two-sided repair, up to rounding). `work` as above.
std::pair<double, double> protected_drift_sq(const float* w, const float* u_h, const float* s_h, const float* v_h,
                                             int64_t n, int64_t m, int64_t k, float* work);

}  // namespace sculpt
