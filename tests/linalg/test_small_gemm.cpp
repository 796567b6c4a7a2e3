#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sculpt/core/rng.h"
#include "sculpt/linalg/small_gemm.h"

namespace sculpt {
namespace {

// Every shape from 1 to 14 rows (two strips of 6 and every remainder), 1 to 37 columns (tiles of
// 16 floats or 8 doubles and every tail), depth 0 to 9, A read as stored or transposed, written or
// accumulated, with padded row strides; compared with the definition in double.
template <typename T>
void check_all_shapes(double tolerance) {
  Rng rng(11);
  int64_t checked = 0;
  for (int64_t m = 1; m <= 14; ++m)
    for (int64_t n : {1, 7, 8, 15, 16, 17, 31, 32, 37})
      for (int64_t k : {0, 1, 5, 9})
        for (bool a_transposed : {false, true})
          for (bool accumulate : {false, true}) {
            const int64_t pad = 3, lda = (a_transposed ? m : k) + pad, ldb = n + pad, ldc = n + pad;
            std::vector<T> a((a_transposed ? k : m) * lda + 1), b(k * ldb + 1), c(m * ldc);
            for (auto& x : a) x = static_cast<T>(rng.normal());
            for (auto& x : b) x = static_cast<T>(rng.normal());
            for (auto& x : c) x = static_cast<T>(rng.normal());
            const std::vector<T> c0 = c;
            const T alpha = T(0.75);
            const int64_t a_row = a_transposed ? 1 : lda, a_col = a_transposed ? lda : 1;
            small_gemm(m, n, k, alpha, a.data(), a_row, a_col, b.data(), ldb, c.data(), ldc, accumulate);
            for (int64_t i = 0; i < m; ++i)
              for (int64_t j = 0; j < ldc; ++j) {
                if (j >= n) {  // the padding between rows is never touched
                  ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]);
                  continue;
                }
                double sum = 0;
                for (int64_t p = 0; p < k; ++p) sum += double(a[i * a_row + p * a_col]) * double(b[p * ldb + j]);
                const double want = (accumulate ? double(c0[i * ldc + j]) : 0.0) + double(alpha) * sum;
                ASSERT_NEAR(c[i * ldc + j], want, tolerance * (1 + std::abs(want)))
                    << "m " << m << " n " << n << " k " << k << " transposed " << a_transposed << " accumulate "
                    << accumulate << " at " << i << "," << j;
                ++checked;
              }
          }
  EXPECT_GT(checked, 50000);
}

TEST(SmallGemm, FloatMatchesDefinitionOverStripsTilesAndTails) { check_all_shapes<float>(1e-5); }
TEST(SmallGemm, DoubleMatchesDefinitionOverStripsTilesAndTails) { check_all_shapes<double>(1e-13); }

// Causal limits as attention declares them, with the zeros the limits promise put into A: every
// entry a row needs equals the full product.
TEST(SmallGemm, CausalLimitsSkipOnlyWhatIsZeroOrUnneeded) {
  Rng rng(12);
  for (int64_t diag : {0, 3, 20})
    for (int64_t m : {1, 6, 13, 40}) {
      const int64_t keys = diag + m, hd = 19;
      // scores (m × keys) = Q (m × hd) · Kᵀ (hd × keys): row i needs columns j ≤ i + diag.
      std::vector<float> q(m * hd), kt(hd * keys), s(m * keys, NAN);
      for (auto& x : q) x = static_cast<float>(rng.normal());
      for (auto& x : kt) x = static_cast<float>(rng.normal());
      small_gemm(m, keys, hd, 1.f, q.data(), hd, 1, kt.data(), keys, s.data(), keys, false, {.n_end = diag});
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j <= i + diag; ++j) {
          double want = 0;
          for (int64_t p = 0; p < hd; ++p) want += double(q[i * hd + p]) * kt[p * keys + j];
          ASSERT_NEAR(s[i * keys + j], want, 1e-4) << "scores, diag " << diag << " m " << m << " at " << i << "," << j;
        }
      // P (m × keys) with P(i, j) = 0 for j > i + diag: P·V (k_end) and Pᵀ·dO (k_begin).
      std::vector<float> p(m * keys), v(keys * hd), dout(m * hd);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < keys; ++j) p[i * keys + j] = j <= i + diag ? static_cast<float>(rng.normal()) : 0.f;
      for (auto& x : v) x = static_cast<float>(rng.normal());
      for (auto& x : dout) x = static_cast<float>(rng.normal());
      std::vector<float> out(m * hd, NAN);
      small_gemm(m, hd, keys, 1.f, p.data(), keys, 1, v.data(), hd, out.data(), hd, false, {.k_end = diag});
      std::vector<float> dv(keys * hd, 0.5f);
      small_gemm(keys, hd, m, 1.f, p.data(), 1, keys, dout.data(), hd, dv.data(), hd, true, {.k_begin = diag});
      for (int64_t i = 0; i < m; ++i)
        for (int64_t d = 0; d < hd; ++d) {
          double want = 0;
          for (int64_t j = 0; j < keys; ++j) want += double(p[i * keys + j]) * v[j * hd + d];
          ASSERT_NEAR(out[i * hd + d], want, 1e-4) << "P V, diag " << diag << " m " << m;
        }
      for (int64_t j = 0; j < keys; ++j)
        for (int64_t d = 0; d < hd; ++d) {
          double want = 0.5;
          for (int64_t i = 0; i < m; ++i) want += double(p[i * keys + j]) * dout[i * hd + d];
          ASSERT_NEAR(dv[j * hd + d], want, 1e-4) << "Pᵀ dO, diag " << diag << " m " << m << " key " << j;
        }
    }
}

}  // namespace
}  // namespace sculpt
