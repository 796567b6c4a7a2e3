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
  Svd f = svd(a, "test");
  const int64_t r = std::min(m, n);
  ASSERT_EQ(f.u.shape(), (Shape{m, r}));
  ASSERT_EQ(f.vt.shape(), (Shape{r, n}));
  EXPECT_LE(reconstruction_error(a, f), 1e-5);
  EXPECT_LE(orthonormality_error(f.u, true), 2e-5);
  EXPECT_LE(orthonormality_error(f.vt, false), 2e-5);
  for (int64_t i = 1; i < r; ++i) EXPECT_GE(f.s[i - 1], f.s[i]);
  EXPECT_GE(f.s[r - 1], 0.f);
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

TEST(Projection, ZeroRankIsIdentity) {
  Tensor d = random_matrix(4, 3, 5), p = d.clone();
  project_two_sided(p, Tensor::zeros({4, 0}), Tensor::zeros({0, 3}));
  for (int64_t i = 0; i < d.numel(); ++i) EXPECT_EQ(p[i], d[i]);
}

}  // namespace
}  // namespace sculpt
