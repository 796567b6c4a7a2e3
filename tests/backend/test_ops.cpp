// Each op against fixtures from the PyTorch float64 twin (tools/golden/llama_twin.py).
#include <gtest/gtest.h>

#include <omp.h>

#include <bit>
#include <cmath>
#include <limits>

#include "sculpt/backend/cpu/attention.h"
#include "sculpt/backend/cpu/rmsnorm.h"
#include "sculpt/backend/cpu/rope.h"
#include "sculpt/backend/cpu/swiglu.h"
#include "sculpt/backend/cpu/vexp.h"
#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/model/rope_frequencies.h"
#include "test_support.h"

namespace sculpt {
namespace {

const SafetensorsFile& ops() {
  static SafetensorsFile f(testing::fixtures("ops.safetensors"));
  return f;
}

TEST(Ops, RmsNormMatchesTwin) {
  Tensor x = ops().read_f32("rmsnorm.x"), w = ops().read_f32("rmsnorm.w"), ref = ops().read_f32("rmsnorm.y");
  Tensor y = Tensor::zeros(x.shape());
  rmsnorm_forward(x.data(), w.data(), y.data(), 5, 7, 1e-5f);
  EXPECT_LE(testing::max_abs_diff(y, ref), 1e-6);
}

TEST(Ops, RopeMatchesTwinAtScatteredPositions) {
  Tensor x = ops().read_f32("rope.x"), ref = ops().read_f32("rope.y");
  std::vector<int64_t> pos = ops().read_i64("rope.positions");
  ModelConfig c;
  c.head_dim = 8;
  c.rope_theta = 10000.0;
  RopeTable table(rope_inverse_frequencies(c), 64);
  rope_forward(x.data(), pos.data(), 6, 2, 8, table);
  EXPECT_LE(testing::max_abs_diff(x, ref), 1e-5);
}

TEST(Ops, Llama3FrequencyScalingMatchesTwin) {
  Tensor ref = ops().read_f32("rope_llama3.inv_freq");
  ModelConfig c;
  c.head_dim = 16;
  c.rope_theta = 500000.0;
  c.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 8192};
  auto inv = rope_inverse_frequencies(c);
  ASSERT_EQ(static_cast<int64_t>(inv.size()), ref.numel());
  for (size_t i = 0; i < inv.size(); ++i) EXPECT_NEAR(inv[i], ref[i], 1e-7 * std::max(1.0, inv[i])) << i;
}

TEST(Ops, RopeRejectsPositionsOutsideTheTable) {
  ModelConfig c;
  c.head_dim = 4;
  RopeTable table(rope_inverse_frequencies(c), 8);
  Tensor x = Tensor::zeros({1, 4});
  int64_t pos = 8;
  EXPECT_THROW(rope_forward(x.data(), &pos, 1, 1, 4, table), Error);
}

TEST(Ops, GroupedQueryAttentionMatchesTwin) {
  Tensor q = ops().read_f32("attention.q"), k = ops().read_f32("attention.k"), v = ops().read_f32("attention.v");
  for (int64_t window : {0, 2}) {
    Tensor ref = ops().read_f32(window ? "attention.out_window2" : "attention.out");
    Tensor out = Tensor::zeros(q.shape());
    std::vector<int64_t> start{0, 0};
    const AttentionShape shape{2, 5, 5, 4, 2, 6, window};
    std::vector<float> scratch(static_cast<size_t>(attention_scratch_size(shape, omp_get_max_threads())));
    attention_forward(q.data(), k.data(), v.data(), out.data(), start.data(), shape, scratch.data());
    EXPECT_LE(testing::max_abs_diff(out, ref), 1e-5) << "window " << window;
  }
}

TEST(Ops, SwigluMatchesTwin) {
  Tensor g = ops().read_f32("swiglu.gate"), u = ops().read_f32("swiglu.up"), ref = ops().read_f32("swiglu.out");
  Tensor out = Tensor::zeros(g.shape());
  swiglu_forward(g.data(), u.data(), out.data(), g.numel());
  EXPECT_LE(testing::max_abs_diff(out, ref), 1e-5);
}

// The vectorisable exp against exp in double, over every 97th float (by bit pattern) from below
// the subnormal range to overflow: within 2 ulp where the result is a normal float, within one
// subnormal step below; NaN, ±inf and the overflow / underflow edges behave as exp does.
TEST(Ops, VectorisableExpMatchesExpToTwoUlp) {
  double worst_ulps = 0;
  int64_t checked = 0;
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFull; bits += 97) {
    const float x = std::bit_cast<float>(static_cast<uint32_t>(bits));
    if (!(x >= -110.f && x <= 90.f)) continue;
    const double ref = std::exp(static_cast<double>(x));
    const float got = vexp(x);
    ++checked;
    if (ref > std::numeric_limits<float>::max()) {
      ASSERT_EQ(got, INFINITY) << "x = " << x;
    } else if (ref >= std::numeric_limits<float>::min()) {
      const double ulp = std::nextafter(static_cast<float>(ref), INFINITY) - static_cast<float>(ref);
      worst_ulps = std::max(worst_ulps, std::abs(got - ref) / ulp);
      ASSERT_LE(std::abs(got - ref), 2 * ulp) << "x = " << x;
    } else {
      ASSERT_LE(std::abs(got - ref), std::numeric_limits<float>::denorm_min()) << "x = " << x;
    }
  }
  EXPECT_GT(checked, 1000000);
  EXPECT_TRUE(std::isnan(vexp(std::nanf(""))));
  EXPECT_EQ(vexp(-INFINITY), 0.f);
  EXPECT_EQ(vexp(INFINITY), INFINITY);
  EXPECT_EQ(vexp(0.f), 1.f);
  std::printf("vexp: %lld arguments, worst error %.2f ulp\n", static_cast<long long>(checked), worst_ulps);
}

}  // namespace
}  // namespace sculpt
