// The CPU backend: the Backend interface over today's host kernels (backend/cpu/*.h, linalg/).
// Each call checks its tensors once (host fp32, element counts that agree) and hands the raw
// arrays to the kernel; the checks build no strings unless they fail, since the training step
// runs allocation-free.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "sculpt/backend/backend.h"
#include "sculpt/backend/cpu/adamw.h"
#include "sculpt/backend/cpu/attention.h"
#include "sculpt/backend/cpu/cross_entropy.h"
#include "sculpt/backend/cpu/log_sum_exp.h"
#include "sculpt/backend/cpu/rmsnorm.h"
#include "sculpt/backend/cpu/rope.h"
#include "sculpt/backend/cpu/swiglu.h"
#include "sculpt/core/error.h"
#include "sculpt/linalg/bf16_gemm.h"

namespace sculpt {

namespace {

void require(bool condition, const char* op, const char* what) {
  if (!condition) throw Error(what, op, "a bug in the caller: the backend was handed mismatched tensors");
}

// The leading dimension of a row-major 2-D tensor read as op(X).
int64_t rows_of(const Tensor& x, Trans t) { return t == Trans::no ? x.dim(0) : x.dim(1); }
int64_t cols_of(const Tensor& x, Trans t) { return t == Trans::no ? x.dim(1) : x.dim(0); }

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  Device device() const override { return Device{}; }
  void sync() override {}
  Tensor zeros(const Shape& shape, DType dtype) override { return Tensor::zeros(shape, dtype); }

  void matmul(const Tensor& a, Trans ta, const Tensor& b, Trans tb, Tensor& c, float alpha, float beta) override {
    require(a.rank() == 2 && b.rank() == 2 && c.rank() == 2, "matmul", "operands must be 2-D");
    const int64_t m = rows_of(a, ta), k = cols_of(a, ta), n = cols_of(b, tb);
    require(rows_of(b, tb) == k && c.dim(0) == m && c.dim(1) == n, "matmul", "inner or outer dimensions differ");
    require(a.dtype() == b.dtype(), "matmul", "operands of different dtypes");
    if (a.dtype() == DType::bf16) {
      require(alpha == 1.f && (beta == 0.f || beta == 1.f), "matmul", "bf16 takes alpha 1 and beta 0 or 1");
      gemm_bf16(ta, tb, m, n, k, a.data_as<uint16_t>(), a.dim(1), b.data_as<uint16_t>(), b.dim(1), beta, c.data(),
                n);
      return;
    }
    gemm(ta, tb, m, n, k, alpha, a.data(), a.dim(1), b.data(), b.dim(1), beta, c.data(), n);
  }

  void add_rows(const Tensor& bias, Tensor& y, Write write) override {
    const int64_t n = bias.numel(), rows = n > 0 ? y.numel() / n : 0;
    require(rows * n == y.numel(), "add_rows", "y must be (rows, n) for a bias of n");
    const float* b = bias.data();
    float* out = y.data();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < n; ++o) out[r * n + o] = (write == Write::overwrite ? 0.f : out[r * n + o]) + b[o];
  }

  void sum_rows(const Tensor& dy, Tensor& db, Write write) override {
    const int64_t n = db.numel(), rows = n > 0 ? dy.numel() / n : 0;
    require(rows * n == dy.numel(), "sum_rows", "dy must be (rows, n) for a db of n");
    const float* g = dy.data();
    float* out = db.data();
    if (write == Write::overwrite) std::fill(out, out + n, 0.f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t o = 0; o < n; ++o) out[o] += g[r * n + o];
  }

  void embedding_forward(const Tensor& table, std::span<const int32_t> ids, Tensor& out) override {
    const int64_t rows = static_cast<int64_t>(ids.size()), V = table.dim(0), D = table.dim(1);
    require(out.numel() == rows * D, "embedding_forward", "out must hold one row of the table per id");
    const float* src = table.data();
    float* dst = out.data();
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t id = ids[static_cast<size_t>(r)];
      if (id < 0 || id >= V)
        throw Error("token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(V), "embedding",
                    "the data was tokenized for another model");
      std::memcpy(dst + r * D, src + static_cast<int64_t>(id) * D, sizeof(float) * static_cast<size_t>(D));
    }
  }

  void embedding_backward(const Tensor& dout, std::span<const int32_t> ids, Tensor& dtable) override {
    const int64_t rows = static_cast<int64_t>(ids.size()), V = dtable.dim(0), D = dtable.dim(1);
    require(dout.numel() == rows * D, "embedding_backward", "dout must hold one row per id");
    const float* src = dout.data();
    float* dst = dtable.data();
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t id = ids[static_cast<size_t>(r)];
      if (id < 0 || id >= V)
        throw Error("token id " + std::to_string(id) + " outside the vocabulary of " + std::to_string(V), "embedding");
      float* row = dst + static_cast<int64_t>(id) * D;
      const float* g = src + r * D;
      for (int64_t i = 0; i < D; ++i) row[i] += g[i];
    }
  }

  void rmsnorm_forward(const Tensor& x, const Tensor& weight, float eps, Tensor& y, Tensor* inv_rms) override {
    const int64_t D = weight.numel(), rows = x.numel() / D;
    require(x.numel() == rows * D && y.numel() == x.numel() && (!inv_rms || inv_rms->numel() == rows),
            "rmsnorm_forward", "x, y (rows, D) and inv_rms (rows,) disagree with weight (D,)");
    sculpt::rmsnorm_forward(x.data(), weight.data(), y.data(), rows, D, eps, inv_rms ? inv_rms->data() : nullptr);
  }

  void rmsnorm_backward(const Tensor& x, const Tensor& weight, const Tensor& inv_rms, const Tensor& dy, Tensor& dx,
                        Tensor& dweight, Write dx_write, Write dw_write) override {
    const int64_t D = weight.numel(), rows = x.numel() / D;
    require(x.numel() == rows * D && dy.numel() == x.numel() && dx.numel() == x.numel() && inv_rms.numel() == rows &&
                dweight.numel() == D,
            "rmsnorm_backward", "x, dy, dx (rows, D), inv_rms (rows,) and dweight (D,) disagree");
    sculpt::rmsnorm_backward(x.data(), weight.data(), inv_rms.data(), dy.data(), dx.data(), dweight.data(), rows, D,
                             dx_write, dw_write);
  }

  void rope_forward(Tensor& x, std::span<const int64_t> positions, int64_t n_heads, const RopeTable& table) override {
    const int64_t rows = static_cast<int64_t>(positions.size()), head_dim = 2 * table.half();
    require(x.numel() == rows * n_heads * head_dim, "rope_forward", "x must be (positions, n_heads * head_dim)");
    sculpt::rope_forward(x.data(), positions.data(), rows, n_heads, head_dim, table);
  }

  void rope_backward(Tensor& dx, std::span<const int64_t> positions, int64_t n_heads,
                     const RopeTable& table) override {
    const int64_t rows = static_cast<int64_t>(positions.size()), head_dim = 2 * table.half();
    require(dx.numel() == rows * n_heads * head_dim, "rope_backward", "dx must be (positions, n_heads * head_dim)");
    sculpt::rope_backward(dx.data(), positions.data(), rows, n_heads, head_dim, table);
  }

  int64_t attention_workspace(const AttentionShape& shape) const override {
    return attention_scratch_size(shape, omp_get_max_threads());
  }

  void attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out,
                         std::span<const int64_t> start, const AttentionShape& s, Tensor& workspace,
                         Tensor* lse) override {
    check_attention(q, k, v, start, s, workspace, "attention_forward");
    require(out.numel() == q.numel() && (!lse || lse->numel() == s.batch * s.n_heads * s.q_len), "attention_forward",
            "out must match q and lse be (B, n_heads, T)");
    sculpt::attention_forward(q.data(), k.data(), v.data(), out.data(), start.data(), s, workspace.data(),
                              lse ? lse->data() : nullptr);
  }

  void attention_backward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out, const Tensor& lse,
                          const Tensor& dout, Tensor& dq, Tensor& dk, Tensor& dv, std::span<const int64_t> start,
                          const AttentionShape& s, Tensor& workspace) override {
    check_attention(q, k, v, start, s, workspace, "attention_backward");
    require(out.numel() == q.numel() && dout.numel() == q.numel() && dq.numel() == q.numel() &&
                dk.numel() == k.numel() && dv.numel() == v.numel() && lse.numel() == s.batch * s.n_heads * s.q_len,
            "attention_backward", "gradients must match their inputs and lse be (B, n_heads, T)");
    sculpt::attention_backward(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(), dk.data(),
                               dv.data(), start.data(), s, workspace.data());
  }

  void swiglu_forward(const Tensor& gate, const Tensor& up, Tensor& out) override {
    require(up.numel() == gate.numel() && out.numel() == gate.numel(), "swiglu_forward", "gate, up, out differ in size");
    sculpt::swiglu_forward(gate.data(), up.data(), out.data(), gate.numel());
  }

  void swiglu_backward(const Tensor& gate, const Tensor& up, const Tensor& dout, Tensor& dgate, Tensor& dup) override {
    const int64_t n = gate.numel();
    require(up.numel() == n && dout.numel() == n && dgate.numel() == n && dup.numel() == n, "swiglu_backward",
            "gate, up and the gradients differ in size");
    sculpt::swiglu_backward(gate.data(), up.data(), dout.data(), dgate.data(), dup.data(), n);
  }

  double cross_entropy(Tensor& logits, std::span<const int32_t> targets, const Tensor& weight) override {
    const int64_t rows = static_cast<int64_t>(targets.size());
    require(logits.rank() == 2 && logits.dim(0) == rows && weight.numel() == rows, "cross_entropy",
            "logits must be (rows, V) with one target and one weight per row");
    return cross_entropy_forward_backward(logits.data(), targets.data(), weight.data(), rows, logits.dim(1));
  }

  void adamw(Tensor& w, Tensor& g, Tensor& m, Tensor& v, const AdamWScalars& k, float grad_scale,
             bool defer) override {
    const int64_t n = w.numel();
    require(g.numel() == n && m.numel() == n && v.numel() == n, "adamw", "w, g, m, v differ in size");
    adamw_span(n, w.data(), g.data(), m.data(), v.data(), k, grad_scale, defer);
  }

  void axpy(Tensor& x, const Tensor& y, float alpha) override {
    const int64_t n = x.numel();
    require(y.numel() == n, "axpy", "x and y differ in size");
    float* px = x.data();
    const float* py = y.data();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) px[i] += alpha * py[i];
  }

  void add_scaled_rows(Tensor& x, const Tensor& s, const Tensor& y, float alpha) override {
    const int64_t rows = s.numel(), cols = rows > 0 ? x.numel() / rows : 0;
    require(x.numel() == rows * cols && y.numel() == x.numel(), "add_scaled_rows",
            "x, y must be (rows, cols), s (rows,)");
    float* px = x.data();
    const float *ps = s.data(), *py = y.data();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) px[i * cols + j] += alpha * ps[i] * py[i * cols + j];
  }

  void add_scaled_columns(Tensor& x, const Tensor& y, const Tensor& s, float alpha) override {
    const int64_t cols = s.numel(), rows = cols > 0 ? x.numel() / cols : 0;
    require(x.numel() == rows * cols && y.numel() == x.numel(), "add_scaled_columns",
            "x, y must be (rows, cols), s (cols,)");
    float* px = x.data();
    const float *ps = s.data(), *py = y.data();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) px[i * cols + j] += alpha * py[i * cols + j] * ps[j];
  }

  void copy_columns(const Tensor& src, int64_t begin, Tensor& dst) override {
    require(src.shape().size() == 2 && dst.shape().size() == 2 && dst.dim(0) == src.dim(0) && begin >= 0 &&
                begin + dst.dim(1) <= src.dim(1),
            "copy_columns", "dst (rows, w) must fit in src (rows, cols) from column begin");
    const int64_t rows = src.dim(0), cols = src.dim(1), w = dst.dim(1);
    const float* ps = src.data();
    float* pd = dst.data();
    for (int64_t i = 0; i < rows; ++i) std::memcpy(pd + i * w, ps + i * cols + begin, sizeof(float) * static_cast<size_t>(w));
  }

  void scale_rows(Tensor& x, const Tensor& s) override {
    const int64_t rows = s.numel(), cols = rows > 0 ? x.numel() / rows : 0;
    require(x.numel() == rows * cols, "scale_rows", "x must be (rows, cols), s (rows,)");
    float* px = x.data();
    const float* ps = s.data();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) px[i * cols + j] *= ps[i];
  }

  void scale_columns(Tensor& x, const Tensor& s) override {
    const int64_t cols = s.numel(), rows = cols > 0 ? x.numel() / cols : 0;
    require(x.numel() == rows * cols, "scale_columns", "x must be (rows, cols), s (cols,)");
    float* px = x.data();
    const float* ps = s.data();
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) px[i * cols + j] *= ps[j];
  }

  void column_dots(const Tensor& x, const Tensor& y, Tensor& out) override {
    const int64_t cols = out.numel(), rows = cols > 0 ? x.numel() / cols : 0;
    require(x.numel() == rows * cols && y.numel() == x.numel(), "column_dots",
            "x, y must be (rows, cols), out (cols,)");
    const float *px = x.data(), *py = y.data();
    float* po = out.data();
    for (int64_t j = 0; j < cols; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < rows; ++i) sum += static_cast<double>(px[i * cols + j]) * py[i * cols + j];
      po[j] = static_cast<float>(sum);
    }
  }

  void row_cosines(const Tensor& x, const Tensor& y, Tensor& out) override {
    const int64_t rows = out.numel();
    require(out.dtype() == DType::f64 && x.shape().size() == 2 && y.shape().size() == 2 && x.dim(0) == rows &&
                y.dim(0) == rows,
            "row_cosines", "x (rows, a), y (rows, b) and out (rows,) f64");
    const int64_t a = x.dim(1), b = y.dim(1), w = std::min(a, b);
    const float *px = x.data(), *py = y.data();
    double* po = out.data_as<double>();
#pragma omp parallel for schedule(static) if (rows * w > (1 << 15))
    for (int64_t i = 0; i < rows; ++i) {
      const float *xr = px + i * a, *yr = py + i * b;
      double dot = 0, xx = 0, yy = 0;
      for (int64_t c = 0; c < w; ++c) {
        dot += static_cast<double>(xr[c]) * yr[c];
        xx += static_cast<double>(xr[c]) * xr[c];
        yy += static_cast<double>(yr[c]) * yr[c];
      }
      po[i] = xx > 0 && yy > 0 ? dot / std::sqrt(xx * yy) : 0.0;
    }
  }

  void token_log_probs(const Tensor& logits, std::span<const int32_t> ids, Tensor& out) override {
    const int64_t rows = out.numel(), vocab = rows > 0 ? logits.numel() / rows : 0;
    require(out.dtype() == DType::f64 && static_cast<int64_t>(ids.size()) == rows && logits.numel() == rows * vocab,
            "token_log_probs", "logits (rows, V), ids (rows) and out (rows,) f64");
    const float* pl = logits.data();
    double* po = out.data_as<double>();
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t id = ids[static_cast<size_t>(r)];
      require(id < vocab, "token_log_probs", "an id past the vocabulary");
      po[r] = id < 0 ? 0.0 : static_cast<double>(pl[r * vocab + id]) - log_sum_exp(pl + r * vocab, vocab);
    }
  }

  void row_kl(const Tensor& p_logits, const Tensor& q_logits, std::span<const int32_t> ids, Tensor& out) override {
    const int64_t rows = out.numel(), vocab = rows > 0 ? p_logits.numel() / rows : 0;
    require(out.dtype() == DType::f64 && static_cast<int64_t>(ids.size()) == rows &&
                p_logits.numel() == rows * vocab && q_logits.numel() == p_logits.numel(),
            "row_kl", "p and q logits (rows, V), ids (rows) and out (rows,) f64");
    double* po = out.data_as<double>();
    for (int64_t r = 0; r < rows; ++r) {
      po[r] = 0.0;
      if (ids[static_cast<size_t>(r)] < 0) continue;
      const float *p = p_logits.data() + r * vocab, *q = q_logits.data() + r * vocab;
      const double lse_p = log_sum_exp(p, vocab), lse_q = log_sum_exp(q, vocab);
      double kl = 0;
      for (int64_t v = 0; v < vocab; ++v) {
        const double lp = static_cast<double>(p[v]) - lse_p, lq = static_cast<double>(q[v]) - lse_q;
        kl += std::exp(lp) * (lp - lq);
      }
      po[r] = kl;
    }
  }

  void addcmul(Tensor& x, const Tensor& y, const Tensor& z, float alpha) override {
    const int64_t n = x.numel();
    require(y.numel() == n && z.numel() == n, "addcmul", "x, y and z differ in size");
    float* px = x.data();
    const float *py = y.data(), *pz = z.data();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) px[i] += alpha * py[i] * pz[i];
  }

  double anchored_quadratic(const Tensor& a, const Tensor& theta, const Tensor& mu, Tensor* grad,
                            float lambda) override {
    const int64_t n = a.numel();
    require(theta.numel() == n && mu.numel() == n && (!grad || grad->numel() == n), "anchored_quadratic",
            "a, theta, mu and grad differ in size");
    const float *pa = a.data(), *pt = theta.data(), *pm = mu.data();
    float* pg = grad ? grad->data() : nullptr;
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(pt[i]) - pm[i];
      sum += static_cast<double>(pa[i]) * d * d;
      if (pg) pg[i] += lambda * pa[i] * (pt[i] - pm[i]);
    }
    return sum;
  }

  double merge_quadratic(Tensor& a, Tensor& mu, const Tensor& f, const Tensor& theta_now) override {
    const int64_t n = a.numel();
    require(mu.numel() == n && f.numel() == n && theta_now.numel() == n, "merge_quadratic",
            "a, mu, f and theta differ in size");
    float *pa = a.data(), *pm = mu.data();
    const float *pf = f.data(), *pt = theta_now.data();
    double constant = 0;
#pragma omp parallel for schedule(static) reduction(+ : constant) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) {
      const double sum = static_cast<double>(pa[i]) + pf[i];
      if (sum <= 0) {
        pm[i] = pt[i];
        continue;
      }
      const double d = static_cast<double>(pm[i]) - pt[i];
      constant += static_cast<double>(pa[i]) * pf[i] / sum * d * d;
      pm[i] = static_cast<float>((static_cast<double>(pa[i]) * pm[i] + static_cast<double>(pf[i]) * pt[i]) / sum);
      pa[i] = static_cast<float>(sum);
    }
    return constant;
  }

  double sum_of_squares(const Tensor& x) override {
    // A static schedule gives the same partial sums for the same thread count: deterministic.
    const float* p = x.data();
    const int64_t n = x.numel();
    double sum = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : sum) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(p[i]) * p[i];
    return sum;
  }

  void scale(Tensor& x, float factor) override {
    float* p = x.data();
    const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) p[i] *= factor;
  }

  void fill(Tensor& x, float value) override {
    float* p = x.data();
    const int64_t n = x.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i) p[i] = value;
  }

  void copy(const Tensor& src, Tensor& dst) override {
    if (src.dtype() == DType::f32 && dst.dtype() == DType::bf16) {  // the hot cast: vectorised, threaded
      require(src.numel() == dst.numel(), "copy", "source and destination differ in size");
      convert_f32_to_bf16(src.data(), dst.data_as<uint16_t>(), src.numel());
      return;
    }
    dst.copy_from(src);
  }

  Svd svd(const Tensor& a, SvdPrecision precision, const std::string& name) override {
    return sculpt::svd(a, name, precision);
  }

 private:
  static void check_attention(const Tensor& q, const Tensor& k, const Tensor& v, std::span<const int64_t> start,
                              const AttentionShape& s, const Tensor& workspace, const char* op) {
    require(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, op, "n_heads must be a multiple of n_kv_heads");
    require(q.numel() == s.batch * s.q_len * s.n_heads * s.head_dim, op, "q must be (B, T, n_heads * head_dim)");
    require(k.numel() == s.batch * s.kv_capacity * s.n_kv_heads * s.head_dim && v.numel() == k.numel(), op,
            "k and v must be (B, S, n_kv_heads * head_dim)");
    require(static_cast<int64_t>(start.size()) == s.batch, op, "start must hold one position per sequence");
    require(workspace.numel() >= attention_scratch_size(s, omp_get_max_threads()), op,
            "workspace smaller than attention_workspace()");
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

std::vector<Backend*> available_backends() { return {&cpu_backend()}; }

}  // namespace sculpt
