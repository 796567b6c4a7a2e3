#include <gtest/gtest.h>

#include <vector>

#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/core/threads.h"
#include "sculpt/linalg/blas.h"

namespace sculpt {
namespace {

// Reference C = alpha op(A) op(B) + beta C in double, from the definition.
std::vector<double> reference(bool ta, bool tb, int m, int n, int k, float alpha, const std::vector<float>& a,
                              int lda, const std::vector<float>& b, int ldb, float beta, const std::vector<float>& c,
                              int ldc) {
  std::vector<double> out(c.begin(), c.end());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        double av = ta ? a[p * lda + i] : a[i * lda + p];
        double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      out[i * ldc + j] = alpha * s + beta * c[i * ldc + j];
    }
  return out;
}

class GemmAllTransposes : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(GemmAllTransposes, MatchesDefinitionWithPaddedLeadingDimensions) {
  auto [ta, tb] = GetParam();
  const int m = 7, n = 5, k = 9, pad = 3;
  Rng rng(ta * 2 + tb);
  const int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  std::vector<float> a(a_rows * lda), b(b_rows * ldb), c(m * ldc);
  for (auto* v : {&a, &b, &c})
    for (auto& x : *v) x = rng.normal();
  auto expected = reference(ta, tb, m, n, k, 0.7f, a, lda, b, ldb, -1.3f, c, ldc);
  gemm(ta ? Trans::yes : Trans::no, tb ? Trans::yes : Trans::no, m, n, k, 0.7f, a.data(), lda, b.data(), ldb, -1.3f,
       c.data(), ldc);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) EXPECT_NEAR(c[i * ldc + j], expected[i * ldc + j], 1e-4) << i << "," << j;
}

INSTANTIATE_TEST_SUITE_P(Linalg, GemmAllTransposes,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

TEST(Linalg, LinearForwardAddsBiasAndUsesHfLayout) {
  // y = x Wᵀ + b with W in [out, in].
  Tensor x = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor w = Tensor::from({2, 3}, {1, 0, -1, 0.5, 0.5, 0.5});
  Tensor b = Tensor::from({2}, {10, 20});
  Tensor y = Tensor::zeros({2, 2});
  linear_forward(x.data(), w.data(), b.data(), y.data(), 2, 3, 2);
  EXPECT_FLOAT_EQ(y[0], 1 - 3 + 10);
  EXPECT_FLOAT_EQ(y[1], 3 + 20);
  EXPECT_FLOAT_EQ(y[2], 4 - 6 + 10);
  EXPECT_FLOAT_EQ(y[3], 7.5 + 20);
}

// The residual variant adds x·Wᵀ + b to a residual, into a separate output or in place.
TEST(Linalg, LinearForwardResidualAddsToTheResidualInPlaceOrNot) {
  Tensor x = Tensor::from({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor w = Tensor::from({2, 3}, {1, 0, -1, 0.5, 0.5, 0.5});
  Tensor b = Tensor::from({2}, {10, 20});
  Tensor residual = Tensor::from({2, 2}, {0.25, -1, 100, 2});
  const float expected[] = {1 - 3 + 10 + 0.25f, 3 + 20 - 1, 4 - 6 + 10 + 100, 7.5f + 20 + 2};
  Tensor y = Tensor::from({2, 2}, {-7, -7, -7, -7});  // overwritten, not added to
  linear_forward_residual(x.data(), w.data(), b.data(), residual.data(), y.data(), 2, 3, 2);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y[i], expected[i]) << i;
  Tensor in_place = residual.clone();
  linear_forward_residual(x.data(), w.data(), b.data(), in_place.data(), in_place.data(), 2, 3, 2);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(in_place[i], expected[i]) << i;
  linear_forward_residual<float>(x.data(), w.data(), nullptr, residual.data(), y.data(), 2, 3, 2);  // no bias
  EXPECT_FLOAT_EQ(y[0], 1 - 3 + 0.25f);
  EXPECT_FLOAT_EQ(y[3], 7.5f + 2);
}

// Shapes large enough for gemm() to split C's rows over the threads (≥ 64 rows per thread), with
// a row count that is no multiple of the 16-row blocks and padded leading dimensions, on 2 and 3
// threads and nested inside a parallel region (where it must not split).
// gemm() cuts C into one block per thread: by rows (203 × 37), or by columns when C is at least
// 4 times wider than tall (37 × 203). 203 is no multiple of the 16-aligned blocks.
class GemmThreadSplit : public ::testing::TestWithParam<std::tuple<bool, bool, int, bool>> {};

TEST_P(GemmThreadSplit, MatchesDefinitionOnEveryBlock) {
  auto [ta, tb, threads, wide] = GetParam();
  const int m = wide ? 37 : 203, n = wide ? 203 : 37, k = 29, pad = 5;
  Rng rng(static_cast<uint64_t>(ta * 2 + tb + 10 * threads));
  const int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  std::vector<float> a(a_rows * lda), b(b_rows * ldb), c(m * ldc);
  for (auto* v : {&a, &b, &c})
    for (auto& x : *v) x = rng.normal();
  const auto expected = reference(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 1.f, c, ldc);
  const int saved = num_threads();
  set_num_threads(threads);
  std::vector<float> split = c, nested = c;
  gemm(ta ? Trans::yes : Trans::no, tb ? Trans::yes : Trans::no, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 1.f,
       split.data(), ldc);
#pragma omp parallel num_threads(2)
#pragma omp single
  gemm(ta ? Trans::yes : Trans::no, tb ? Trans::yes : Trans::no, m, n, k, 0.5f, a.data(), lda, b.data(), ldb, 1.f,
       nested.data(), ldc);
  set_num_threads(saved);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < ldc; ++j) {
      // Padding columns are never written.
      const double want = j < n ? expected[i * ldc + j] : c[i * ldc + j];
      ASSERT_NEAR(split[i * ldc + j], want, 1e-4) << i << "," << j;
      ASSERT_NEAR(nested[i * ldc + j], want, 1e-4) << i << "," << j;
    }
}

INSTANTIATE_TEST_SUITE_P(Linalg, GemmThreadSplit,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(), ::testing::Values(2, 3),
                                            ::testing::Bool()));

TEST(Linalg, MatmulChecksShapes) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5}), c = Tensor::zeros({2, 5});
  EXPECT_THROW(matmul(a, Trans::no, b, Trans::no, c), Error);
}

}  // namespace
}  // namespace sculpt
