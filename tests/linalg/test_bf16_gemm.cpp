// bf16 GEMM (oneDNN) against a double-precision product of the same bf16-rounded operands: the
// only error allowed is fp32 accumulation's, so the tolerance is k·2⁻²⁴ relative to Σ|a||b|.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sculpt/core/dtype.h"
#include "sculpt/core/rng.h"
#include "sculpt/linalg/bf16_gemm.h"

namespace sculpt {
namespace {

struct Bf16Case {
  int m, n, k;
  bool ta, tb, accumulate;
};

class Bf16Gemm : public ::testing::TestWithParam<Bf16Case> {};

// C = op(A)·op(B) (+ C) on padded operands, checked element by element against a double product.
void expect_matches_double_product(const Bf16Case& p) {
  const int pad = 3;
  const int a_rows = p.ta ? p.k : p.m, a_cols = p.ta ? p.m : p.k, b_rows = p.tb ? p.n : p.k,
            b_cols = p.tb ? p.k : p.n;
  const int lda = a_cols + pad, ldb = b_cols + pad, ldc = p.n + pad;
  Rng rng(static_cast<uint64_t>(p.m * 131 + p.n * 7 + p.k + p.ta * 2 + p.tb));
  std::vector<uint16_t> a(static_cast<size_t>(a_rows * lda)), b(static_cast<size_t>(b_rows * ldb));
  for (auto& x : a) x = f32_to_bf16(rng.normal());
  for (auto& x : b) x = f32_to_bf16(rng.normal());
  std::vector<float> c(static_cast<size_t>(p.m * ldc));
  for (auto& x : c) x = rng.normal();
  const std::vector<float> c0 = c;
  gemm_bf16(p.ta ? Trans::yes : Trans::no, p.tb ? Trans::yes : Trans::no, p.m, p.n, p.k, a.data(), lda, b.data(), ldb,
            p.accumulate ? 1.f : 0.f, c.data(), ldc);
  for (int i = 0; i < p.m; ++i)
    for (int j = 0; j < p.n; ++j) {
      double sum = 0, magnitude = 0;
      for (int q = 0; q < p.k; ++q) {
        const double av = bf16_to_f32(p.ta ? a[q * lda + i] : a[i * lda + q]);
        const double bv = bf16_to_f32(p.tb ? b[j * ldb + q] : b[q * ldb + j]);
        sum += av * bv;
        magnitude += std::fabs(av * bv);
      }
      if (p.accumulate) sum += c0[i * ldc + j], magnitude += std::fabs(c0[i * ldc + j]);
      EXPECT_NEAR(c[i * ldc + j], sum, (p.k + 2) * 0x1p-24 * magnitude + 1e-30) << i << "," << j;
    }
  // The padding of C is never written.
  for (int i = 0; i < p.m; ++i)
    for (int j = p.n; j < ldc; ++j) EXPECT_EQ(c[i * ldc + j], c0[i * ldc + j]);
}


TEST_P(Bf16Gemm, MatchesDoubleProductOfTheRoundedOperands) {
  if (!bf16_gemm_available()) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev): no bf16 GEMM";
  expect_matches_double_product(GetParam());
}

// Every transpose form, with and without accumulation, at tiny, odd and SmolLM2-like shapes.
INSTANTIATE_TEST_SUITE_P(Linalg, Bf16Gemm,
                         ::testing::Values(Bf16Case{1, 1, 1, false, false, false}, Bf16Case{1, 1, 1, true, true, true},
                                           Bf16Case{7, 5, 9, false, true, false}, Bf16Case{7, 5, 9, false, false, true},
                                           Bf16Case{7, 5, 9, true, false, true}, Bf16Case{7, 5, 9, true, true, false},
                                           Bf16Case{33, 17, 1, false, true, true},
                                           Bf16Case{64, 192, 576, false, true, false},
                                           Bf16Case{64, 576, 1536, false, false, true},
                                           Bf16Case{576, 1536, 64, true, false, true}),
                         [](const ::testing::TestParamInfo<Bf16Case>& case_info) {
                           const Bf16Case& p = case_info.param;
                           return std::to_string(p.m) + "x" + std::to_string(p.n) + "x" + std::to_string(p.k) + "_" +
                                  (p.ta ? "T" : "N") + (p.tb ? "T" : "N") + (p.accumulate ? "_accumulate" : "");
                         });

// Past the shapes that get a kernel of their own, a shape runs on its layout's primitive with the
// batch-dependent dimension (M, or K when A is transposed) given at run time: as exact, every form.
TEST(Bf16Gemm, ManyShapesShareRunTimePrimitivesExactly) {
  if (!bf16_gemm_available()) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev): no bf16 GEMM";
  std::vector<uint16_t> a(600 * 3, f32_to_bf16(1.f)), b(4 * 3, f32_to_bf16(1.f));
  std::vector<float> c(600 * 4);
  for (int m = 1; m <= 200; ++m) {  // more distinct shapes than get their own kernel
    gemm_bf16(Trans::no, Trans::yes, m, 4, 3, a.data(), 3, b.data(), 3, 0.f, c.data(), 4);
    ASSERT_EQ(c[static_cast<size_t>((m - 1) * 4 + 3)], 3.f);
  }
  for (const Bf16Case& p : {Bf16Case{301, 37, 53, false, true, false}, Bf16Case{302, 37, 53, false, false, true},
                            Bf16Case{37, 53, 303, true, false, false}, Bf16Case{37, 53, 304, true, false, true},
                            Bf16Case{29, 31, 305, true, true, true}, Bf16Case{1, 1, 1, false, false, false}})
    expect_matches_double_product(p);
}

TEST(Bf16Conversion, ArrayConversionMatchesTheScalarOneBitForBit) {
  std::vector<float> x = {0.f,  -0.f, 1.f, -1.f, 1.00390625f /* tie, even below */, 1.01171875f /* tie, odd below */,
                          3.4e38f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::max()};
  Rng rng(3);
  for (int i = 0; i < 200000; ++i) x.push_back(rng.normal() * std::exp2(static_cast<float>(i % 60 - 30)));
  std::vector<uint16_t> got(x.size());
  convert_f32_to_bf16(x.data(), got.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(got[i], f32_to_bf16(x[i])) << "element " << i << " = " << x[i];
  EXPECT_TRUE(std::isnan(bf16_to_f32(got[9])));
  EXPECT_EQ(got[4], 0x3f80);  // 1 + 2⁻⁸ is halfway: to even (1.0)
  EXPECT_EQ(got[5], 0x3f82);  // 1 + 3·2⁻⁸ is halfway: to even (1 + 2⁻⁶)
}

}  // namespace
}  // namespace sculpt
