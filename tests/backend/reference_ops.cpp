#include "reference_ops.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace sculpt::reference {

Vec matmul(const Vec& a, bool trans_a, const Vec& b, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
           double beta, const Vec& c0) {
  Vec c(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double aip = trans_a ? a[p * m + i] : a[i * k + p];
        const double bpj = trans_b ? b[j * k + p] : b[p * n + j];
        sum += aip * bpj;
      }
      c[i * n + j] = alpha * sum + (beta != 0 ? beta * c0[i * n + j] : 0.0);
    }
  return c;
}

Vec embedding(const Vec& table, const std::vector<int32_t>& ids, int64_t dim) {
  Vec out;
  for (int32_t id : ids) out.insert(out.end(), table.begin() + id * dim, table.begin() + (id + 1) * dim);
  return out;
}

Vec rmsnorm(const Vec& x, const Vec& weight, double eps, Vec* inv_rms) {
  const size_t D = weight.size(), rows = x.size() / D;
  Vec y(x.size());
  if (inv_rms) inv_rms->assign(rows, 0.0);
  for (size_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (size_t i = 0; i < D; ++i) ms += x[r * D + i] * x[r * D + i];
    const double inv = 1.0 / std::sqrt(ms / static_cast<double>(D) + eps);
    for (size_t i = 0; i < D; ++i) y[r * D + i] = x[r * D + i] * inv * weight[i];
    if (inv_rms) (*inv_rms)[r] = inv;
  }
  return y;
}

Vec rope(const Vec& x, const std::vector<int64_t>& positions, int64_t n_heads, const Vec& inv_freq, double sign) {
  const int64_t half = static_cast<int64_t>(inv_freq.size()), hd = 2 * half;
  Vec y = x;
  for (size_t r = 0; r < positions.size(); ++r)
    for (int64_t h = 0; h < n_heads; ++h)
      for (int64_t i = 0; i < half; ++i) {
        const double angle = sign * static_cast<double>(positions[r]) * inv_freq[i];
        const size_t a = r * static_cast<size_t>(n_heads * hd) + h * hd + i, b = a + half;
        y[a] = x[a] * std::cos(angle) - x[b] * std::sin(angle);
        y[b] = x[b] * std::cos(angle) + x[a] * std::sin(angle);
      }
  return y;
}

Vec attention(const Vec& q, const Vec& k, const Vec& v, const std::vector<int64_t>& start, const AttentionShape& s,
              Vec* lse) {
  const int64_t H = s.n_heads, KV = s.n_kv_heads, hd = s.head_dim, T = s.q_len, S = s.kv_capacity;
  const int64_t group = H / KV;
  Vec out(q.size(), 0.0);
  if (lse) lse->assign(static_cast<size_t>(s.batch * H * T), 0.0);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const int64_t p = start[b] + t, kvh = h / group;
        const int64_t first = s.window > 0 ? std::max<int64_t>(0, p - s.window + 1) : 0;
        const double* qi = q.data() + ((b * T + t) * H + h) * hd;
        Vec score;
        for (int64_t j = first; j <= p; ++j) {
          const double* kj = k.data() + ((b * S + j) * KV + kvh) * hd;
          double dot = 0;
          for (int64_t d = 0; d < hd; ++d) dot += qi[d] * kj[d];
          score.push_back(dot * scale);
        }
        const double mx = *std::max_element(score.begin(), score.end());
        double z = 0;
        for (double sc : score) z += std::exp(sc - mx);
        double* o = out.data() + ((b * T + t) * H + h) * hd;
        for (int64_t j = first; j <= p; ++j) {
          const double w = std::exp(score[static_cast<size_t>(j - first)] - mx) / z;
          const double* vj = v.data() + ((b * S + j) * KV + kvh) * hd;
          for (int64_t d = 0; d < hd; ++d) o[d] += w * vj[d];
        }
        if (lse) (*lse)[(b * H + h) * T + t] = mx + std::log(z);
      }
  return out;
}

Vec swiglu(const Vec& gate, const Vec& up) {
  Vec out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) out[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
  return out;
}

double cross_entropy(const Vec& logits, const std::vector<int32_t>& targets, const Vec& weight, int64_t vocab) {
  double loss = 0;
  for (size_t r = 0; r < targets.size(); ++r) {
    if (weight[r] == 0) continue;
    const double* row = logits.data() + r * vocab;
    const double mx = *std::max_element(row, row + vocab);
    double z = 0;
    for (int64_t j = 0; j < vocab; ++j) z += std::exp(row[j] - mx);
    loss += weight[r] * (mx + std::log(z) - row[targets[r]]);
  }
  return loss;
}

void adamw(Vec& w, Vec& g, Vec& m, Vec& v, double beta1, double beta2, double eps, double weight_decay, double lr,
           int64_t t, double grad_scale, bool defer) {
  const double c1 = 1 - std::pow(beta1, static_cast<double>(t)), c2 = 1 - std::pow(beta2, static_cast<double>(t));
  for (size_t i = 0; i < w.size(); ++i) {
    const double gi = g[i] * grad_scale;
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    const double step = lr * ((m[i] / c1) / (std::sqrt(v[i] / c2) + eps) + weight_decay * w[i]);
    if (defer) g[i] = step;
    else w[i] -= step;
  }
}

float round_to_bf16(float x) {
  if (std::isnan(x)) return x;
  // The two bf16 values around x (same sign): x with its low 16 bits cleared, and one bf16 ulp
  // further from zero; the nearer wins, a tie goes to the one whose last kept bit is 0.
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  const uint32_t down = bits & 0xFFFF0000u, up = down + 0x10000u;
  const double lo = std::bit_cast<float>(down), hi = std::bit_cast<float>(up);
  const double dl = std::fabs(static_cast<double>(x) - lo), dh = std::fabs(hi - static_cast<double>(x));
  if (dl < dh) return static_cast<float>(lo);
  if (dh < dl) return static_cast<float>(hi);
  return (down & 0x10000u) == 0 ? static_cast<float>(lo) : static_cast<float>(hi);
}

Vec finite_differences(const std::vector<double>& x, const std::function<double(const Vec&)>& f, double h,
                       const std::vector<size_t>& indices) {
  Vec grad(x.size(), std::numeric_limits<double>::quiet_NaN());
  Vec probe = x;
  auto one = [&](size_t i) {
    probe[i] = x[i] + h;
    const double plus = f(probe);
    probe[i] = x[i] - h;
    const double minus = f(probe);
    probe[i] = x[i];
    grad[i] = (plus - minus) / (2 * h);
  };
  if (indices.empty())
    for (size_t i = 0; i < x.size(); ++i) one(i);
  else
    for (size_t i : indices) one(i);
  return grad;
}

}  // namespace sculpt::reference
