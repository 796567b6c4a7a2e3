#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/linalg/svd.h"
#include "linalg/svd_test_matrices.h"

namespace sculpt {
namespace {

using testing::frobenius;
using testing::random_matrix;
using testing::top_k;
using testing::TopK;

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

}  // namespace
}  // namespace sculpt
