#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/linalg/svd.h"

namespace sculpt {
namespace {

Tensor random_matrix(int64_t m, int64_t n, uint64_t seed) {
  Rng rng(seed);
  Tensor a = Tensor::zeros({m, n});
  for (int64_t i = 0; i < a.numel(); ++i) a[i] = rng.normal();
  return a;
}

double frobenius(const Tensor& a) {
  double s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a[i]) * a[i];
  return std::sqrt(s);
}

// ‖U diag(s) Vt − A‖_F / ‖A‖_F computed in double.
double reconstruction_error(const Tensor& a, const Svd& f) {
  const int64_t m = a.dim(0), n = a.dim(1), r = f.s.numel();
  double err = 0;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < r; ++p) s += static_cast<double>(f.u[i * r + p]) * f.s[p] * f.vt[p * n + j];
      err += (s - a[i * n + j]) * (s - a[i * n + j]);
    }
  return std::sqrt(err) / frobenius(a);
}

// max |QᵀQ − I| for the columns (by_columns) or rows of q.
double orthonormality_error(const Tensor& q, bool by_columns) {
  const int64_t rows = q.dim(0), cols = q.dim(1);
  const int64_t count = by_columns ? cols : rows, len = by_columns ? rows : cols;
  double worst = 0;
  for (int64_t a = 0; a < count; ++a)
    for (int64_t b = 0; b < count; ++b) {
      double s = 0;
      for (int64_t t = 0; t < len; ++t)
        s += by_columns ? static_cast<double>(q[t * cols + a]) * q[t * cols + b]
                        : static_cast<double>(q[a * cols + t]) * q[b * cols + t];
      worst = std::max(worst, std::fabs(s - (a == b ? 1.0 : 0.0)));
    }
  return worst;
}

class SvdShapes : public ::testing::TestWithParam<std::pair<int, int>> {};

TEST_P(SvdShapes, ReconstructsWithOrthonormalFactorsAndSortedValues) {
  auto [m, n] = GetParam();
  Tensor a = random_matrix(m, n, m * 100 + n);
  for (SvdPrecision precision : {SvdPrecision::f32, SvdPrecision::f64}) {
    Svd f = svd(a, "test", precision);
    const int64_t r = std::min(m, n);
    ASSERT_EQ(f.u.shape(), (Shape{m, r}));
    ASSERT_EQ(f.vt.shape(), (Shape{r, n}));
    EXPECT_LE(reconstruction_error(a, f), 1e-5);
    EXPECT_LE(orthonormality_error(f.u, true), 2e-5);
    EXPECT_LE(orthonormality_error(f.vt, false), 2e-5);
    for (int64_t i = 1; i < r; ++i) EXPECT_GE(f.s[i - 1], f.s[i]);
    EXPECT_GE(f.s[r - 1], 0.f);
  }
}

// Top-k factors of `f` (k columns of U, k rows of Vᵀ, k values).
struct TopK {
  Tensor u_h, s_h, v_h;
};
TopK top_k(const Svd& f, int64_t k) {
  const int64_t n = f.u.dim(0), r = f.s.numel();
  TopK t{Tensor::zeros({n, k}), Tensor::zeros({k}), f.vt.rows(0, k).clone()};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < k; ++c) t.u_h[i * k + c] = f.u[i * r + c];
  for (int64_t c = 0; c < k; ++c) t.s_h[c] = f.s[c];
  return t;
}

// ‖U_hᵀA − Σ_hV_h‖_F / ‖A‖_F in double: what OSFT's W₀-free repair takes as exact.
double protected_row_residual(const Tensor& a, const TopK& t) {
  const int64_t n = a.dim(0), m = a.dim(1), k = t.s_h.numel();
  double err = 0;
  for (int64_t c = 0; c < k; ++c)
    for (int64_t j = 0; j < m; ++j) {
      double s = -static_cast<double>(t.s_h[c]) * t.v_h[c * m + j];
      for (int64_t i = 0; i < n; ++i) s += static_cast<double>(t.u_h[i * k + c]) * a[i * m + j];
      err += s * s;
    }
  return std::sqrt(err) / frobenius(a);
}

// Computed in double, the factors hold U_hᵀA = Σ_hV_h to fp32's rounding of them; fp32's own
// arithmetic leaves several times more (measured here: the f64 residual is below 1e-7, the f32
// one above 2e-7 on these shapes).
TEST(Svd, DoublePrecisionFactorsHoldTheProtectedBlockToFp32Rounding) {
  for (auto [m, n] : {std::pair<int64_t, int64_t>{192, 192}, {96, 256}, {256, 96}}) {
    Tensor a = random_matrix(m, n, static_cast<uint64_t>(m + 7 * n));
    const int64_t k = std::min(m, n) / 2;
    const double f64 = protected_row_residual(a, top_k(svd(a, "a", SvdPrecision::f64), k));
    const double f32 = protected_row_residual(a, top_k(svd(a, "a", SvdPrecision::f32), k));
    RecordProperty("residual_f64_" + std::to_string(m) + "x" + std::to_string(n), std::to_string(f64));
    EXPECT_LE(f64, 1e-7) << m << "x" << n;
    EXPECT_GT(f32, 2 * f64) << m << "x" << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Linalg, SvdShapes,
                         ::testing::Values(std::make_pair(17, 17), std::make_pair(40, 13), std::make_pair(13, 40),
                                           std::make_pair(1, 9), std::make_pair(64, 172)));

TEST(Svd, RankDeficientMatrixHasZeroTail) {
  // A = X Y with X 30×4, Y 4×20: rank 4.
  Tensor x = random_matrix(30, 4, 1), y = random_matrix(4, 20, 2), a = Tensor::zeros({30, 20});
  matmul(x, Trans::no, y, Trans::no, a);
  Svd f = svd(a);
  EXPECT_LE(reconstruction_error(a, f), 1e-5);
  EXPECT_GT(f.s[3], 1e-2f * f.s[0]);
  for (int i = 4; i < 20; ++i) EXPECT_LT(f.s[i], 1e-5f * f.s[0]) << i;
  EXPECT_LE(orthonormality_error(f.u, true), 2e-5);
}

TEST(Svd, NonFiniteInputIsAnError) {
  Tensor a = random_matrix(5, 5, 3);
  a[7] = NAN;
  EXPECT_THROW(svd(a, "layer.weight"), Error);
}

TEST(Projection, RemovesProtectedSubspaceOnBothSidesAndIsIdempotent) {
  const int64_t n = 24, m = 18, k = 5;
  Svd f = svd(random_matrix(n, m, 11));
  Tensor u_h = Tensor::zeros({n, k}), v_h = f.vt.rows(0, k).clone();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < k; ++j) u_h[i * k + j] = f.u[i * std::min(n, m) + j];
  Tensor d = random_matrix(n, m, 12);
  Tensor p = d.clone();
  project_two_sided(p, u_h, v_h);
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
  matmul(u_h, Trans::yes, p, Trans::no, up);
  matmul(p, Trans::no, v_h, Trans::yes, pv);
  for (int64_t i = 0; i < up.numel(); ++i) EXPECT_NEAR(up[i], 0, 1e-5);
  for (int64_t i = 0; i < pv.numel(); ++i) EXPECT_NEAR(pv[i], 0, 1e-5);
  // Projecting twice changes nothing.
  Tensor pp = p.clone();
  project_two_sided(pp, u_h, v_h);
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
    project_two_sided(reference, u_h, v_h);
    Tensor p = d.clone();
    std::vector<float> work(static_cast<size_t>(k * (std::max(n, m) + k)));
    const ProjectionSide left = n == r ? ProjectionSide{u_l.data(), l, true} : ProjectionSide{u_h.data(), k, false};
    const ProjectionSide right = m == r ? ProjectionSide{v_l.data(), l, true} : ProjectionSide{v_h.data(), k, false};
    project_two_sided(p.data(), left, right, n, m, work.data());
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
      std::vector<float> work(static_cast<size_t>(k * (std::max(n, m) + k)));
      Tensor repaired = w.clone();
      if (block)
        restore_block(repaired.data(), t.u_h.data(), t.s_h.data(), t.v_h.data(), n, m, k, work.data());
      else
        restore_two_sided(repaired.data(), t.u_h.data(), t.s_h.data(), t.v_h.data(), n, m, k, work.data());
      for (int64_t j = 0; j < w.numel(); ++j)
        ASSERT_NEAR(repaired[j], reference[static_cast<size_t>(j)], 2e-6) << (block ? "block " : "two-sided ") << n << "x" << m << " at " << j;
      // After a two-sided repair the protected rows and columns are W₀'s: what drift is left is
      // fp32 rounding of W (~1e-7 of ‖W‖). Before it, it is the step's own protected part.
      const auto [rows, cols] = protected_drift_sq(repaired.data(), t.u_h.data(), t.s_h.data(), t.v_h.data(), n, m, k, work.data());
      const auto [rows_before, cols_before] = protected_drift_sq(w.data(), t.u_h.data(), t.s_h.data(), t.v_h.data(), n, m, k, work.data());
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
  restore_two_sided(r.data(), nullptr, nullptr, nullptr, 4, 3, 0, nullptr);
  restore_block(r.data(), nullptr, nullptr, nullptr, 4, 3, 0, nullptr);
  for (int64_t i = 0; i < w.numel(); ++i) EXPECT_EQ(r[i], w[i]);
}

TEST(Projection, ZeroRankIsIdentity) {
  Tensor d = random_matrix(4, 3, 5), p = d.clone();
  project_two_sided(p, Tensor::zeros({4, 0}), Tensor::zeros({0, 3}));
  for (int64_t i = 0; i < d.numel(); ++i) EXPECT_EQ(p[i], d[i]);
}

}  // namespace
}  // namespace sculpt
