// The double-precision oracle every backend is checked against (DESIGN §7.1): each operation of
// backend/backend.h written as its definition, in plain loops over double, sharing no code with
// any backend (not even the CPU kernels' double instantiations). Gradients are not written here:
// the conformance suite checks backward passes by finite differences of these forwards.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sculpt/backend/attention_shape.h"

namespace sculpt::reference {

using Vec = std::vector<double>;

// c (m, n) = alpha · op(a) · op(b) + beta · c0; a stored (m, k) or, transposed, (k, m); b likewise.
Vec matmul(const Vec& a, bool trans_a, const Vec& b, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
           double beta, const Vec& c0);

// out (rows, D) = table[ids].
Vec embedding(const Vec& table, const std::vector<int32_t>& ids, int64_t dim);

// y (rows, D) = x / √(mean(x²) + eps) ⊙ w; inv_rms (rows,) when non-null.
Vec rmsnorm(const Vec& x, const Vec& weight, double eps, Vec* inv_rms = nullptr);

// x (rows, n_heads · head_dim) with pair i of each head rotated by positions[r] · inv_freq[i],
// half-split layout; sign −1 rotates back.
Vec rope(const Vec& x, const std::vector<int64_t>& positions, int64_t n_heads, const Vec& inv_freq, double sign = 1);

// Causal grouped-query attention by its definition (full score matrix, softmax, weighted sum);
// lse (B, n_heads, T) when non-null.
Vec attention(const Vec& q, const Vec& k, const Vec& v, const std::vector<int64_t>& start,
              const AttentionShape& shape, Vec* lse = nullptr);

// silu(gate) ⊙ up.
Vec swiglu(const Vec& gate, const Vec& up);

// Σ_r weight[r] · (logsumexp(logits_r) − logits_r[target_r]); logits (rows, V).
double cross_entropy(const Vec& logits, const std::vector<int32_t>& targets, const Vec& weight, int64_t vocab);

// One AdamW step in double (optim/adamw.h): w, m, v updated in place, or with `defer` g ← step.
void adamw(Vec& w, Vec& g, Vec& m, Vec& v, double beta1, double beta2, double eps, double weight_decay, double lr,
           int64_t t, double grad_scale, bool defer);

// The nearest bf16 to x (ties to the even mantissa), as a float; NaN stays NaN.
float round_to_bf16(float x);

// Central finite differences of a scalar function f at x: (f(x + h e_i) − f(x − h e_i)) / 2h for
// each i in `indices` (every index when empty).
Vec finite_differences(const std::vector<double>& x, const std::function<double(const Vec&)>& f, double h,
                       const std::vector<size_t>& indices = {});

}  // namespace sculpt::reference
