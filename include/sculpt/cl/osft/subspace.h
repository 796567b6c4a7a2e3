// OSFT's projections onto the complement of a protected subspace and its W₀-free repair, as
// compositions of the backend's GEMMs (DESIGN §7.1 keeps them above the interface, so every
// backend has them). Shapes: D, W (N, M); U_h (N, k) orthonormal columns; Σ_h (k,); V_h (k, M)
// orthonormal rows. `work` is a flat fp32 scratch tensor on the backend's device whose size each
// function states; nothing here allocates.
#pragma once
#include <cstdint>
#include <utility>

#include "sculpt/backend/backend.h"

namespace sculpt {

// One side of the two-sided projection, given either by the protected basis (projected out) or,
// where the singular basis is complete (that side's dimension equals the rank), by its
// orthonormal complement (projected onto): I − U_hU_hᵀ = U_lU_lᵀ then, and with l = r − k < k
// columns the two GEMMs of that side cost l/k of the protected form's.
struct ProjectionSide {
  Tensor basis;             // left: (N, dim) orthonormal columns; right: (dim, M) orthonormal rows
  bool complement = false;  // basis spans the complement (project onto it) instead of the protected space
};

// One side alone: X (rows, cols) ← X − B Bᵀ X with B (rows, dim) orthonormal columns (work:
// dim·cols), and X ← X − X Bᵀ B with B (dim, cols) orthonormal rows (work: rows·dim). The factored
// mode keeps dU_l ⟂ U_h and dV_l ⟂ V_h with them.
void remove_left(Backend& be, Tensor& x, const Tensor& b, Tensor& work);
void remove_right(Backend& be, Tensor& x, const Tensor& b, Tensor& work);

// D ← P_left D P_right, with P = I − BBᵀ (protected) or CCᵀ (complement) on each side;
// work: max(dims)·(max(N, M) + max(dims)).
void project_two_sided(Backend& be, Tensor& d, const ProjectionSide& left, const ProjectionSide& right, Tensor& work);

// D ← D − U_h U_hᵀ D V_hᵀ V_h (only the protected–protected block is removed: the paper's
// printed formula); work: k·M + k·k.
void project_block(Backend& be, Tensor& d, const Tensor& u_h, const Tensor& v_h, Tensor& work);

// OSFT's update-mode repair without a copy of W₀ (DESIGN §1). For task-start weights
// W₀ = UΣV, U_hᵀW₀ = Σ_hV_h and W₀V_hᵀ = U_hΣ_h, so W₀ − P(W₀) = U_hΣ_hV_h for both projections
// and W₀ + P(W − W₀) = P(W) + U_hΣ_hV_h. It is computed as corrections of the protected block's
// drift, which is small, so their rounding is relative to the drift, not to W:
//   two-sided: W ← W − U_h(U_hᵀW − Σ_hV_h);  W ← W − (WV_hᵀ − U_hΣ_h)V_h   (4·k·N·M mult-adds)
//   block:     W ← W − U_h(U_hᵀWV_hᵀ − Σ_h)V_h
// work: k·max(N, M) + k·k.
void restore_two_sided(Backend& be, Tensor& w, const Tensor& u_h, const Tensor& s_h, const Tensor& v_h, Tensor& work);
void restore_block(Backend& be, Tensor& w, const Tensor& u_h, const Tensor& s_h, const Tensor& v_h, Tensor& work);

// ‖U_hᵀW − Σ_hV_h‖²_F and ‖WV_hᵀ − U_hΣ_h‖²_F: how far W's protected rows and columns are from
// W₀'s (zero right after a two-sided repair, up to rounding). work as above.
std::pair<double, double> protected_drift_sq(Backend& be, const Tensor& w, const Tensor& u_h, const Tensor& s_h,
                                             const Tensor& v_h, Tensor& work);

}  // namespace sculpt
