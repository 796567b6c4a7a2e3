#include "sculpt/cl/osft/subspace.h"

namespace sculpt {

namespace {

// The leading rows × cols of the flat scratch, from element `offset`.
Tensor scratch(Tensor& work, int64_t offset, int64_t rows, int64_t cols) { return work.view(offset, {rows, cols}); }

}  // namespace

void remove_left(Backend& be, Tensor& x, const Tensor& b, Tensor& work) {
  const int64_t dim = b.dim(1);
  if (dim == 0) return;
  Tensor bx = scratch(work, 0, dim, x.dim(1));  // Bᵀ X
  be.matmul(b, Trans::yes, x, Trans::no, bx, 1.f, 0.f);
  be.matmul(b, Trans::no, bx, Trans::no, x, -1.f, 1.f);
}

void remove_right(Backend& be, Tensor& x, const Tensor& b, Tensor& work) {
  const int64_t dim = b.dim(0);
  if (dim == 0) return;
  Tensor xb = scratch(work, 0, x.dim(0), dim);  // X Bᵀ
  be.matmul(x, Trans::no, b, Trans::yes, xb, 1.f, 0.f);
  be.matmul(xb, Trans::no, b, Trans::no, x, -1.f, 1.f);
}

void project_two_sided(Backend& be, Tensor& d, const ProjectionSide& left, const ProjectionSide& right,
                       Tensor& work) {
  const int64_t n = d.dim(0), m = d.dim(1);
  // A side given by its complement basis C makes the result low-rank: P_C D = C (Cᵀ D). The other
  // side is then applied to the small factor Cᵀ D (dim, M) or D Cᵀ (N, dim) rather than to D,
  // which for a tall or wide target (one side complete, the other not) halves the multiply-adds.
  if (left.complement) {
    const int64_t l = left.basis.dim(1);
    Tensor core = scratch(work, 0, l, m);  // Lᵀ D
    Tensor rest = work.view(l * m, {work.numel() - l * m});
    be.matmul(left.basis, Trans::yes, d, Trans::no, core, 1.f, 0.f);
    if (right.complement) {  // core ← (core Rᵀ) R
      Tensor core_r = scratch(rest, 0, l, right.basis.dim(0));
      be.matmul(core, Trans::no, right.basis, Trans::yes, core_r, 1.f, 0.f);
      be.matmul(core_r, Trans::no, right.basis, Trans::no, core, 1.f, 0.f);
    } else {
      remove_right(be, core, right.basis, rest);
    }
    be.matmul(left.basis, Trans::no, core, Trans::no, d, 1.f, 0.f);  // D = L core
    return;
  }
  if (right.complement) {
    const int64_t l = right.basis.dim(0);
    Tensor core = scratch(work, 0, n, l);  // D Rᵀ
    Tensor rest = work.view(n * l, {work.numel() - n * l});
    be.matmul(d, Trans::no, right.basis, Trans::yes, core, 1.f, 0.f);
    remove_left(be, core, left.basis, rest);
    be.matmul(core, Trans::no, right.basis, Trans::no, d, 1.f, 0.f);  // D = core R
    return;
  }
  remove_left(be, d, left.basis, work);
  remove_right(be, d, right.basis, work);
}

void project_block(Backend& be, Tensor& d, const Tensor& u_h, const Tensor& v_h, Tensor& work) {
  const int64_t m = d.dim(1), k = u_h.dim(1);
  if (k == 0) return;
  Tensor left = scratch(work, 0, k, m);      // U_hᵀ D, later core · V_h
  Tensor core = scratch(work, k * m, k, k);  // U_hᵀ D V_hᵀ
  be.matmul(u_h, Trans::yes, d, Trans::no, left, 1.f, 0.f);
  be.matmul(left, Trans::no, v_h, Trans::yes, core, 1.f, 0.f);
  be.matmul(core, Trans::no, v_h, Trans::no, left, 1.f, 0.f);
  be.matmul(u_h, Trans::no, left, Trans::no, d, -1.f, 1.f);
}

void restore_two_sided(Backend& be, Tensor& w, const Tensor& u_h, const Tensor& s_h, const Tensor& v_h, Tensor& work) {
  const int64_t n = w.dim(0), m = w.dim(1), k = u_h.dim(1);
  if (k == 0) return;
  // Rows: A = U_hᵀW − Σ_hV_h (k, M); W ← W − U_h A, after which U_hᵀW = Σ_hV_h.
  Tensor a = scratch(work, 0, k, m);
  be.matmul(u_h, Trans::yes, w, Trans::no, a, 1.f, 0.f);
  be.add_scaled_rows(a, s_h, v_h, -1.f);
  be.matmul(u_h, Trans::no, a, Trans::no, w, -1.f, 1.f);
  // Columns: B = WV_hᵀ − U_hΣ_h (N, k); W ← W − B V_h, after which WV_hᵀ = U_hΣ_h and, since
  // U_hᵀB = Σ_hV_hV_hᵀ − Σ_h = 0, the rows stay restored.
  Tensor b = scratch(work, 0, n, k);
  be.matmul(w, Trans::no, v_h, Trans::yes, b, 1.f, 0.f);
  be.add_scaled_columns(b, u_h, s_h, -1.f);
  be.matmul(b, Trans::no, v_h, Trans::no, w, -1.f, 1.f);
}

void restore_block(Backend& be, Tensor& w, const Tensor& u_h, const Tensor& s_h, const Tensor& v_h, Tensor& work) {
  const int64_t m = w.dim(1), k = u_h.dim(1);
  if (k == 0) return;
  Tensor left = scratch(work, 0, k, m);      // U_hᵀW, later (G − Σ_h)V_h
  Tensor core = scratch(work, k * m, k, k);  // G = U_hᵀWV_hᵀ
  be.matmul(u_h, Trans::yes, w, Trans::no, left, 1.f, 0.f);
  be.matmul(left, Trans::no, v_h, Trans::yes, core, 1.f, 0.f);
  // (G − Σ_h)V_h = G V_h − Σ_h V_h
  be.matmul(core, Trans::no, v_h, Trans::no, left, 1.f, 0.f);
  be.add_scaled_rows(left, s_h, v_h, -1.f);
  be.matmul(u_h, Trans::no, left, Trans::no, w, -1.f, 1.f);
}

std::pair<double, double> protected_drift_sq(Backend& be, const Tensor& w, const Tensor& u_h, const Tensor& s_h,
                                             const Tensor& v_h, Tensor& work) {
  const int64_t n = w.dim(0), m = w.dim(1), k = u_h.dim(1);
  if (k == 0) return {0.0, 0.0};
  Tensor a = scratch(work, 0, k, m);  // U_hᵀW − Σ_hV_h
  be.matmul(u_h, Trans::yes, w, Trans::no, a, 1.f, 0.f);
  be.add_scaled_rows(a, s_h, v_h, -1.f);
  const double rows = be.sum_of_squares(a);
  Tensor b = scratch(work, 0, n, k);  // WV_hᵀ − U_hΣ_h
  be.matmul(w, Trans::no, v_h, Trans::yes, b, 1.f, 0.f);
  be.add_scaled_columns(b, u_h, s_h, -1.f);
  return {rows, be.sum_of_squares(b)};
}

}  // namespace sculpt
