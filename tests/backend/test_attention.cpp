// Attention at shapes that span several query blocks, strips and column tiles, against a direct
// implementation of the formulas in attention.h (double, no blocking, no skipped work).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sculpt/backend/cpu/attention.h"
#include "sculpt/core/rng.h"

namespace sculpt {
namespace {

struct Reference {
  std::vector<double> out, dq, dk, dv;
};

// out_i = Σ_j P_ij v_j with P = softmax over visible keys of q_i·k_j/√d; and the backward of Σ c∘out.
Reference direct(const std::vector<double>& q, const std::vector<double>& k, const std::vector<double>& v,
                 const std::vector<double>& c, const std::vector<int64_t>& start, const AttentionShape& s) {
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd, group = s.n_heads / s.n_kv_heads;
  Reference r{std::vector<double>(q.size()), std::vector<double>(q.size()), std::vector<double>(k.size()),
              std::vector<double>(v.size())};
  const double scale = 1 / std::sqrt(double(hd));
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.n_heads; ++h)
      for (int64_t t = 0; t < s.q_len; ++t) {
        const int64_t pos = start[b] + t, first = s.window > 0 ? std::max<int64_t>(0, pos - s.window + 1) : 0;
        const double* qi = &q[(b * s.q_len + t) * qw + h * hd];
        auto key = [&](int64_t j) { return (b * s.kv_capacity + j) * kw + (h / group) * hd; };
        std::vector<double> p(pos + 1, 0.0);
        double mx = -INFINITY, sum = 0;
        for (int64_t j = first; j <= pos; ++j) {
          for (int64_t d = 0; d < hd; ++d) p[j] += qi[d] * k[key(j) + d] * scale;
          mx = std::max(mx, p[j]);
        }
        for (int64_t j = first; j <= pos; ++j) sum += p[j] = std::exp(p[j] - mx);
        const int64_t row = (b * s.q_len + t) * qw + h * hd;
        double dot_co = 0;  // Σ_d c·out
        for (int64_t j = first; j <= pos; ++j) {
          p[j] /= sum;
          for (int64_t d = 0; d < hd; ++d) r.out[row + d] += p[j] * v[key(j) + d];
        }
        for (int64_t d = 0; d < hd; ++d) dot_co += c[row + d] * r.out[row + d];
        for (int64_t j = first; j <= pos; ++j) {
          double dp = 0;
          for (int64_t d = 0; d < hd; ++d) dp += c[row + d] * v[key(j) + d];
          const double ds = p[j] * (dp - dot_co) * scale;
          for (int64_t d = 0; d < hd; ++d) {
            r.dv[key(j) + d] += p[j] * c[row + d];
            r.dq[row + d] += ds * k[key(j) + d];
            r.dk[key(j) + d] += ds * qi[d];
          }
        }
      }
  return r;
}

template <typename T>
void check_against_direct(const AttentionShape& s, const std::vector<int64_t>& start, double tolerance) {
  Rng rng(static_cast<uint64_t>(s.q_len * 31 + s.head_dim + s.window));
  const int64_t nq = s.batch * s.q_len * s.n_heads * s.head_dim,
                nk = s.batch * s.kv_capacity * s.n_kv_heads * s.head_dim;
  std::vector<double> q(nq), k(nk), v(nk), c(nq);
  for (auto* x : {&q, &k, &v, &c})
    for (auto& y : *x) y = rng.normal();
  const Reference ref = direct(q, k, v, c, start, s);
  auto as_t = [](const std::vector<double>& x) { return std::vector<T>(x.begin(), x.end()); };
  std::vector<T> qt = as_t(q), kt = as_t(k), vt = as_t(v), ct = as_t(c);
  std::vector<T> out(nq, T(NAN)), lse(s.batch * s.n_heads * s.q_len), dq(nq, T(NAN)), dk(nk, T(NAN)), dv(nk, T(NAN));
  std::vector<T> scratch(static_cast<size_t>(attention_scratch_size(s, omp_get_max_threads())), T(NAN));
  attention_forward(qt.data(), kt.data(), vt.data(), out.data(), start.data(), s, scratch.data(), lse.data());
  attention_backward(qt.data(), kt.data(), vt.data(), out.data(), lse.data(), ct.data(), dq.data(), dk.data(),
                     dv.data(), start.data(), s, scratch.data());
  auto expect_close = [&](const std::vector<T>& got, const std::vector<double>& want, const char* what) {
    double worst = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_TRUE(std::isfinite(double(got[i]))) << what << " [" << i << "]";
      worst = std::max(worst, std::abs(double(got[i]) - want[i]) / (1 + std::abs(want[i])));
    }
    EXPECT_LE(worst, tolerance) << what << ", T " << s.q_len << " hd " << s.head_dim << " window " << s.window;
  };
  expect_close(out, ref.out, "out");
  expect_close(dq, ref.dq, "dq");
  expect_close(dk, ref.dk, "dk");  // key slots no query sees: 0 in both
  expect_close(dv, ref.dv, "dv");
}

// 130 queries: blocks of 64, 64 and 2; cache offsets; 4 query heads over 2 kv heads; head sizes
// that are and are not whole column tiles; a sliding window.
const std::vector<AttentionShape> kShapes = {
    {2, 130, 140, 4, 2, 20, 0}, {2, 130, 140, 4, 2, 32, 0}, {2, 70, 80, 2, 1, 16, 9}, {3, 1, 40, 4, 4, 8, 0}};
const std::vector<std::vector<int64_t>> kStarts = {{0, 7}, {10, 0}, {3, 10}, {0, 12, 39}};

TEST(Attention, FloatMatchesDirectFormulasAcrossBlocks) {
  for (size_t i = 0; i < kShapes.size(); ++i) check_against_direct<float>(kShapes[i], kStarts[i], 2e-5);
}

TEST(Attention, DoubleMatchesDirectFormulasAcrossBlocks) {
  for (size_t i = 0; i < kShapes.size(); ++i) check_against_direct<double>(kShapes[i], kStarts[i], 1e-12);
}

}  // namespace
}  // namespace sculpt
