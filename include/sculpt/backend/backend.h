// The device interface (DESIGN §7.1): every operation the training graph, the optimizer and the
// strategies run on tensors. A backend owns the kernels of one device; `cpu_backend()` holds
// today's (backend/cpu/, linalg/). Callers hand it tensors on its device and never touch their
// bytes themselves, so a CUDA backend is one more implementation of this class, verified by the
// same conformance suite (tests/backend/test_backend_conformance.cpp) against a double-precision
// oracle.
//
// Conventions of every operation: row-major tensors, weights in HF [out, in] layout, activations
// fp32 unless a matmul says otherwise; `Write` says whether a gradient is written or added.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sculpt/backend/attention_shape.h"
#include "sculpt/backend/rope_table.h"
#include "sculpt/core/device.h"
#include "sculpt/core/tensor.h"
#include "sculpt/core/write.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/linalg/svd.h"

namespace sculpt {

// The scalars of one AdamW step over a span (optim/adamw.h computes them):
//   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  step = lr · (m·inv_c1 / (√v·inv_sqrt_c2 + ε) + wd · w)
// with inv_c1 = 1/(1−β1ᵗ), inv_sqrt_c2 = 1/√(1−β2ᵗ).
struct AdamWScalars {
  float beta1, beta2, eps, weight_decay, lr, inv_c1, inv_sqrt_c2;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual Device device() const = 0;
  // Waits for the work queued so far (a no-op where every call completes before it returns).
  virtual void sync() = 0;
  // A zero-filled tensor on this backend's device.
  virtual Tensor zeros(const Shape& shape, DType dtype) = 0;

  // ---- matmul. c (m, n) = alpha · op(a) · op(b) + beta · c, 2-D tensors, c fp32. a and b are both
  // fp32, or both bf16 (products and sums in fp32; alpha must be 1 and beta 0 or 1).
  virtual void matmul(const Tensor& a, Trans trans_a, const Tensor& b, Trans trans_b, Tensor& c, float alpha,
                      float beta) = 0;

  // ---- a bias over rows, and its backward. y: (rows, n); bias, db: (n,).
  // add_rows: y[r] (=|+=) bias for every row. sum_rows: db (=|+=) Σ_r dy[r], rows in order.
  virtual void add_rows(const Tensor& bias, Tensor& y, Write write) = 0;
  virtual void sum_rows(const Tensor& dy, Tensor& db, Write write) = 0;

  // ---- embedding. out (rows, D) = table[ids[r]] for each row; an id outside [0, V) is an Error.
  // Backward: dtable[ids[r]] += dout[r], rows in order (repeated ids add in a fixed order).
  // table, dtable: (V, D); dout: (rows, D); ids: (rows,).
  virtual void embedding_forward(const Tensor& table, std::span<const int32_t> ids, Tensor& out) = 0;
  virtual void embedding_backward(const Tensor& dout, std::span<const int32_t> ids, Tensor& dtable) = 0;

  // ---- RMSNorm over the last axis: y = x · r ⊙ w, r = 1/√(mean(x²) + eps). x, y, dy, dx: (rows, D);
  // weight, dweight: (D,); inv_rms: (rows,) receives r (forward, when non-null) and is read back.
  virtual void rmsnorm_forward(const Tensor& x, const Tensor& weight, float eps, Tensor& y, Tensor* inv_rms) = 0;
  virtual void rmsnorm_backward(const Tensor& x, const Tensor& weight, const Tensor& inv_rms, const Tensor& dy,
                                Tensor& dx, Tensor& dweight, Write dx_write, Write dw_write) = 0;

  // ---- RoPE, in place. x: (rows, n_heads · head_dim), row r at absolute position positions[r];
  // head_dim is 2 · table.half(). The backward rotates by −θ.
  virtual void rope_forward(Tensor& x, std::span<const int64_t> positions, int64_t n_heads,
                            const RopeTable& table) = 0;
  virtual void rope_backward(Tensor& dx, std::span<const int64_t> positions, int64_t n_heads,
                             const RopeTable& table) = 0;

  // ---- causal grouped-query attention (backend/cpu/attention.h states the semantics).
  // q, out, dq, dout: (B, T, n_heads · hd); k, v, dk, dv: (B, S, n_kv · hd); start: (B,);
  // lse: (B, n_heads, T), the log-sum-exp the backward rebuilds the probabilities from;
  // workspace: (attention_workspace(shape),) fp32 elements. dq, dk, dv are written.
  virtual int64_t attention_workspace(const AttentionShape& shape) const = 0;
  virtual void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                                 std::span<const int64_t> start, const AttentionShape& shape, Tensor& workspace,
                                 Tensor* lse) = 0;
  virtual void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                  const Tensor& lse, const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv,
                                  std::span<const int64_t> start, const AttentionShape& shape,
                                  Tensor& workspace) = 0;

  // ---- SwiGLU: out = silu(gate) ⊙ up, elementwise over equal-sized tensors; the backward writes.
  virtual void swiglu_forward(const Tensor& gate, const Tensor& up, Tensor& out) = 0;
  virtual void swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& dout, Tensor& dgate,
                               Tensor& dup) = 0;

  // ---- masked cross-entropy fused with its gradient. logits: (rows, V), overwritten with
  // weight[r] · (softmax(logits_r) − onehot(target_r)); returns Σ_r weight[r] · (lse_r − logit_r[target_r]).
  // targets, weight: (rows,); rows of weight 0 get a zero gradient and need no valid target.
  virtual double cross_entropy(Tensor& logits, std::span<const int32_t> targets, const Tensor& weight) = 0;

  // ---- AdamW over equal-sized fp32 spans (flat buffers): g is read as g · grad_scale; then
  // w ← w − step, or with `defer` g ← step and w untouched.
  virtual void adamw(Tensor& w, Tensor& g, Tensor& m, Tensor& v, const AdamWScalars& k, float grad_scale,
                     bool defer) = 0;

  // ---- scaled additions. axpy: x ← x + alpha · y (equal sizes). add_scaled_rows: x[i, :] +=
  // alpha · s[i] · y[i, :]; add_scaled_columns: x[:, j] += alpha · y[:, j] · s[j]; x, y: (rows, cols),
  // s: (rows,) or (cols,). OSFT's Σ_hV_h and U_hΣ_h terms, its W ← W − P(s).
  virtual void axpy(Tensor& x, const Tensor& y, float alpha) = 0;
  virtual void add_scaled_rows(Tensor& x, const Tensor& s, const Tensor& y, float alpha) = 0;
  virtual void add_scaled_columns(Tensor& x, const Tensor& y, const Tensor& s, float alpha) = 0;

  // ---- copy_columns: dst (rows, w) ← src[:, begin : begin + w] of a row-major (rows, cols) src
  // (OSFT's U_h and U_l out of the SVD's U).
  virtual void copy_columns(const Tensor& src, int64_t begin, Tensor& dst) = 0;

  // ---- per-row and per-column scalings of a row-major (rows, cols) x: scale_rows: x[i, :] *= s[i];
  // scale_columns: x[:, j] *= s[j]; column_dots: out[j] = Σ_i x[i, j] · y[i, j] accumulated in
  // double. OSFT's factored mode: dU_l = (dW V_lᵀ) Σ_l, dV_l = Σ_l (U_lᵀ dW), dΣ_l = diag(U_lᵀ dW V_lᵀ).
  virtual void scale_rows(Tensor& x, const Tensor& s) = 0;
  virtual void scale_columns(Tensor& x, const Tensor& s) = 0;
  virtual void column_dots(const Tensor& x, const Tensor& y, Tensor& out) = 0;

  // ---- row_cosines: out[i] = cos(x[i, :w], y[i, :w]), w = min(cols of x, cols of y), 0 where either
  // part is zero; x (rows, a), y (rows, b) fp32, out (rows,) f64, accumulated in double. OSFT's
  // adaptive importance: how much a layer's output row keeps its input's direction.
  virtual void row_cosines(const Tensor& x, const Tensor& y, Tensor& out) = 0;

  // ---- log-probabilities off logits (rows, V) fp32, in double, into f64 (rows,) outputs; rows with
  // ids[r] < 0 are skipped (0). token_log_probs: out[r] = log softmax(logits[r])[ids[r]];
  // row_kl: out[r] = KL(softmax(p[r]) ‖ softmax(q[r])) = Σ_v p_v (log p_v − log q_v). Evaluation's
  // label ranking, perplexity and drift from the base model.
  virtual void token_log_probs(const Tensor& logits, std::span<const int32_t> ids, Tensor& out) = 0;
  virtual void row_kl(const Tensor& p_logits, const Tensor& q_logits, std::span<const int32_t> ids, Tensor& out) = 0;

  // ---- elementwise products (equal sizes). addcmul: x ← x + alpha · y ⊙ z (EWC's Fisher
  // accumulates g ⊙ g).
  virtual void addcmul(Tensor& x, const Tensor& y, const Tensor& z, float alpha) = 0;
  // EWC's anchor ½λ Σ a (θ − μ)²: returns Σ a (θ − μ)² accumulated in double and, when `grad` is
  // given, adds lambda · a ⊙ (θ − μ) to it (the anchor's gradient) in the same pass.
  virtual double anchored_quadratic(const Tensor& a, const Tensor& theta, const Tensor& mu, Tensor* grad,
                                    float lambda) = 0;
  // Merges a new quadratic f (θ − θ_now)² into a (θ − μ)² (the sum of two quadratics is one plus a
  // constant): a ← a + f, μ ← (a μ + f θ_now) / (a + f), μ ← θ_now where a + f = 0 (no curvature:
  // the anchor does not matter). Returns the constant, Σ a f / (a + f) (μ − θ_now)², in double.
  virtual double merge_quadratic(Tensor& a, Tensor& mu, const Tensor& f, const Tensor& theta_now) = 0;

  // ---- reductions, elementwise, copies.
  virtual double sum_of_squares(const Tensor& x) = 0;  // Σ x², accumulated in double
  virtual void scale(Tensor& x, float factor) = 0;     // x ← factor · x
  virtual void fill(Tensor& x, float value) = 0;       // every element of x ← value
  // dst ← src, the same element count, between this device and the host in either direction;
  // fp32 ↔ bf16 converts (round to nearest even).
  virtual void copy(const Tensor& src, Tensor& dst) = 0;

  // ---- thin SVD of an (m, n) fp32 matrix (linalg/svd.h's contract).
  // `name` is the matrix's, for the errors (a non-finite entry, no convergence).
  virtual Svd svd(const Tensor& a, SvdPrecision precision, const std::string& name) = 0;
};

// The host backend: today's kernels.
Backend& cpu_backend();
// A host copy of a backend tensor, in its dtype: what code above the backend reads element by element.
Tensor host_copy(Backend& backend, const Tensor& t);
// A copy of `t` (on the host or the backend's device) on the backend's device, in t's dtype:
// Tensor::clone for tensors that live there.
Tensor device_copy(Backend& backend, const Tensor& t);

// Every backend this build has, the CPU's first (the conformance suite runs each).
std::vector<Backend*> available_backends();

}  // namespace sculpt
