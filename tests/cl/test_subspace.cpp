#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/cl/osft/subspace.h"
#include "sculpt/core/rng.h"
#include "sculpt/linalg/svd.h"
#include "linalg/svd_test_matrices.h"

// OSFT's projections and repair (cl/osft/subspace.h) against double-precision oracles, on the
// CPU backend. (Its own namespace: in a unity build it shares a translation unit with other tests.)
namespace sculpt::subspace_test {
namespace {

using testing::frobenius;
using testing::random_matrix;
using testing::top_k;
using testing::TopK;

Backend& be() { return cpu_backend(); }
// Scratch for any of the functions on an (n, m) matrix with k protected directions.
Tensor work_for(int64_t n, int64_t m, int64_t k) { return Tensor::zeros({std::max<int64_t>(1, k * (std::max(n, m) + k))}); }

// D ← (I − U_hU_hᵀ) D (I − V_hᵀV_h).
void project_out(Tensor& d, const Tensor& u_h, const Tensor& v_h) {
  Tensor work = work_for(d.dim(0), d.dim(1), u_h.dim(1));
  project_two_sided(be(), d, {u_h, false}, {v_h, false}, work);
}

TEST(Projection, RemovesProtectedSubspaceOnBothSidesAndIsIdempotent) {
  const int64_t n = 24, m = 18, k = 5;
  Svd f = svd(random_matrix(n, m, 11));
  Tensor u_h = Tensor::zeros({n, k}), v_h = f.vt.rows(0, k).clone();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) u_h[i * k + j] = f.u[i * std::min(n, m) + j];
  Tensor d = random_matrix(n, m, 12);
  Tensor p = d.clone();
  project_out(p, u_h, v_h);
  // Reference (I − UUᵀ) D (I − VᵀV) in double.
  std::vector<double> left(n * m), ref(n * m);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = d[i * m + j];
      for (int64_t t = 0; t < n; ++t) {
        double uu = 0;
        for (int64_t c = 0; c < k; ++c) uu += static_cast<double>(u_h[i * k + c]) * u_h[t * k + c];
        s -= uu * d[t * m + j];
      }
      left[i * m + j] = s;
    }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = left[i * m + j];
      for (int64_t t = 0; t < m; ++t) {
        double vv = 0;
        for (int64_t c = 0; c < k; ++c) vv += static_cast<double>(v_h[c * m + t]) * v_h[c * m + j];
        s -= left[i * m + t] * vv;
      }
      ref[i * m + j] = s;
    }
  for (int64_t i = 0; i < n * m; ++i) EXPECT_NEAR(p[i], ref[i], 1e-5);
  // U_hᵀ P = 0 and P V_hᵀ = 0.
  Tensor up = Tensor::zeros({k, m}), pv = Tensor::zeros({n, k});
  be().matmul(u_h, Trans::yes, p, Trans::no, up, 1.f, 0.f);
  be().matmul(p, Trans::no, v_h, Trans::yes, pv, 1.f, 0.f);
  for (int64_t i = 0; i < up.numel(); ++i) EXPECT_NEAR(up[i], 0, 1e-5);
  for (int64_t i = 0; i < pv.numel(); ++i) EXPECT_NEAR(pv[i], 0, 1e-5);
  // Projecting twice changes nothing.
  Tensor pp = p.clone();
  project_out(pp, u_h, v_h);
  for (int64_t i = 0; i < p.numel(); ++i) EXPECT_NEAR(pp[i], p[i], 1e-5);
}

// Where a side's singular basis is complete (its dimension equals the rank), projecting onto the
// complement U_l (or V_l) must give what projecting out U_h (V_h) gives: tall, wide and square.
TEST(Projection, ComplementOfACompleteSideEqualsProjectingOutTheProtectedSpace) {
  for (auto [n, m, k] : {std::tuple<int64_t, int64_t, int64_t>{20, 20, 15}, {30, 12, 9}, {12, 30, 9}}) {
    const int64_t r = std::min(n, m), l = r - k;
    Svd f = svd(random_matrix(n, m, 21 + n));
    Tensor u_h = Tensor::zeros({n, k}), u_l = Tensor::zeros({n, l});
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < r; ++j) (j < k ? u_h[i * k + j] : u_l[i * l + j - k]) = f.u[i * r + j];
    Tensor v_h = f.vt.rows(0, k).clone(), v_l = f.vt.rows(k, r).clone();
    Tensor d = random_matrix(n, m, 22 + m);
    Tensor reference = d.clone();
    project_out(reference, u_h, v_h);
    Tensor p = d.clone();
    Tensor work = work_for(n, m, std::max(k, l));
    const ProjectionSide left = n == r ? ProjectionSide{u_l, true} : ProjectionSide{u_h, false};
    const ProjectionSide right = m == r ? ProjectionSide{v_l, true} : ProjectionSide{v_h, false};
    project_two_sided(be(), p, left, right, work);
    for (int64_t i = 0; i < p.numel(); ++i) EXPECT_NEAR(p[i], reference[i], 1e-5) << n << "x" << m << " at " << i;
  }
}

// W₀ + P(W − W₀) computed in double from W₀ itself: the oracle of the W₀-free repair.
std::vector<double> repaired_reference(const Tensor& w0, const Tensor& w, const TopK& t, bool block) {
  const int64_t n = w0.dim(0), m = w0.dim(1), k = t.s_h.numel();
  std::vector<double> d(static_cast<size_t>(n * m));
  for (int64_t j = 0; j < n * m; ++j) d[j] = static_cast<double>(w[j]) - w0[j];
  // L = U_hᵀD (k×M), R = D V_hᵀ (N×k), C = U_hᵀ D V_hᵀ (k×k).
  std::vector<double> l(static_cast<size_t>(k * m), 0), r(static_cast<size_t>(n * k), 0), c(static_cast<size_t>(k * k), 0);
  for (int64_t a = 0; a < k; ++a)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) l[a * m + j] += t.u_h[i * k + a] * d[i * m + j];
  for (int64_t i = 0; i < n; ++i)
    for (int64_t b = 0; b < k; ++b)
      for (int64_t j = 0; j < m; ++j) r[i * k + b] += d[i * m + j] * t.v_h[b * m + j];
  for (int64_t a = 0; a < k; ++a)
    for (int64_t b = 0; b < k; ++b)
      for (int64_t j = 0; j < m; ++j) c[a * k + b] += l[a * m + j] * t.v_h[b * m + j];
  std::vector<double> out(static_cast<size_t>(n * m));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double uuDvv = 0, uuD = 0, Dvv = 0;
      for (int64_t a = 0; a < k; ++a) {
        uuD += t.u_h[i * k + a] * l[a * m + j];
        Dvv += r[i * k + a] * t.v_h[a * m + j];
        for (int64_t b = 0; b < k; ++b) uuDvv += t.u_h[i * k + a] * c[a * k + b] * t.v_h[b * m + j];
      }
      const double p = block ? d[i * m + j] - uuDvv : d[i * m + j] - uuD - Dvv + uuDvv;
      out[i * m + j] = w0[i * m + j] + p;
    }
  return out;
}

// The repair from U_h, Σ_h, V_h alone equals W₀ + P(W − W₀) for both projections, on square,
// tall and wide matrices, to fp32 rounding of W (the weights are O(1) here).
TEST(Restore, FromTheFactorsEqualsProjectingTheChangeFromW0) {
  for (bool block : {false, true})
    for (auto [n, m, k] : {std::tuple<int64_t, int64_t, int64_t>{24, 24, 12}, {36, 14, 10}, {14, 36, 3}}) {
      Tensor w0 = random_matrix(n, m, static_cast<uint64_t>(3 * n + m));
      const TopK t = top_k(svd(w0, "w0", SvdPrecision::f64), k);
      Tensor w = random_matrix(n, m, static_cast<uint64_t>(5 * n + m));
      for (int64_t j = 0; j < w.numel(); ++j) w[j] = w0[j] + 0.01f * w[j];  // a training step's change
      const std::vector<double> reference = repaired_reference(w0, w, t, block);
      Tensor work = work_for(n, m, k);
      Tensor repaired = w.clone();
      if (block)
        restore_block(be(), repaired, t.u_h, t.s_h, t.v_h, work);
      else
        restore_two_sided(be(), repaired, t.u_h, t.s_h, t.v_h, work);
      for (int64_t j = 0; j < w.numel(); ++j)
        ASSERT_NEAR(repaired[j], reference[static_cast<size_t>(j)], 2e-6) << (block ? "block " : "two-sided ") << n << "x" << m << " at " << j;
      // After a two-sided repair the protected rows and columns are W₀'s: what drift is left is
      // fp32 rounding of W (~1e-7 of ‖W‖). Before it, it is the step's own protected part.
      const auto [rows, cols] = protected_drift_sq(be(), repaired, t.u_h, t.s_h, t.v_h, work);
      const auto [rows_before, cols_before] = protected_drift_sq(be(), w, t.u_h, t.s_h, t.v_h, work);
      if (!block) {
        EXPECT_LE(std::sqrt(rows), 5e-7 * frobenius(w));
        EXPECT_LE(std::sqrt(cols), 5e-7 * frobenius(w));
      }
      EXPECT_GT(std::sqrt(rows_before), 1e-3);
      EXPECT_GT(std::sqrt(cols_before), 1e-3);
    }
}

TEST(Restore, ZeroRankLeavesWUnchanged) {
  Tensor w = random_matrix(4, 3, 5), r = w.clone();
  Tensor u_h = Tensor::zeros({4, 0}), s_h = Tensor::zeros({0}), v_h = Tensor::zeros({0, 3}), work = work_for(4, 3, 0);
  restore_two_sided(be(), r, u_h, s_h, v_h, work);
  restore_block(be(), r, u_h, s_h, v_h, work);
  for (int64_t i = 0; i < w.numel(); ++i) EXPECT_EQ(r[i], w[i]);
}

TEST(Projection, ZeroRankIsIdentity) {
  Tensor d = random_matrix(4, 3, 5), p = d.clone();
  project_out(p, Tensor::zeros({4, 0}), Tensor::zeros({0, 3}));
  for (int64_t i = 0; i < d.numel(); ++i) EXPECT_EQ(p[i], d[i]);
}

}  // namespace
}  // namespace sculpt::subspace_test
