// Thin SVD (LAPACK). OSFT's projections, compositions of GEMMs, are in cl/osft/subspace.h.
#pragma once
#include <string>

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

}  // namespace sculpt
