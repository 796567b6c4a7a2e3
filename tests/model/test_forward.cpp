// The whole Llama forward against the PyTorch float64 twin, and the two stories260K formats
// against each other.
#include <gtest/gtest.h>

#include <cstring>

#include "sculpt/io/safetensors.h"
#include "sculpt/linalg/bf16_gemm.h"
#include "sculpt/model/forward.h"
#include "sculpt/model/llama.h"
#include "test_support.h"

namespace sculpt {
namespace {

struct Case {
  LlamaModel model;
  std::vector<int32_t> tokens;
  std::vector<int64_t> lengths;
  Tensor logits;  // (B, T, V) from the twin
  int64_t batch, seq;
};

Case load_case(const std::string& name) {
  const std::string dir = testing::fixtures("model/" + name);
  SafetensorsFile golden(dir + "/golden.safetensors");
  auto tokens = golden.read_i64("tokens");
  Case c{load_model(dir), {tokens.begin(), tokens.end()}, golden.read_i64("lengths"), golden.read_f32("logits"), 0, 0};
  c.batch = c.logits.dim(0);
  c.seq = c.logits.dim(1);
  return c;
}

// Largest |ours − twin| over the real (non-pad) positions.
double worst_valid_diff(const Case& c, const Tensor& logits) {
  const int64_t V = c.logits.dim(2);
  double worst = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t t = 0; t < c.lengths[b]; ++t)
      worst = std::max(worst, testing::max_abs_diff(logits.data() + (b * c.seq + t) * V,
                                                    c.logits.data() + (b * c.seq + t) * V, V));
  return worst;
}

class TwinLogits : public ::testing::TestWithParam<const char*> {};

TEST_P(TwinLogits, PaddedBatchMatchesTwinWithin1e4) {
  Case c = load_case(GetParam());
  LlamaForward forward(c.model, c.batch, c.seq, c.seq);
  Tensor logits = forward.logits_all(c.tokens, c.batch, c.seq);
  EXPECT_LE(worst_valid_diff(c, logits), 1e-4);
}

TEST_P(TwinLogits, EachSequenceAloneGivesTheSameLogits) {
  // Right padding must not change the real positions.
  Case c = load_case(GetParam());
  const int64_t V = c.logits.dim(2);
  LlamaForward forward(c.model, 1, c.seq, c.seq);
  for (int64_t b = 0; b < c.batch; ++b) {
    std::vector<int32_t> alone(c.tokens.begin() + b * c.seq, c.tokens.begin() + b * c.seq + c.lengths[b]);
    Tensor logits = forward.logits_all(alone, 1, c.lengths[b]);
    EXPECT_LE(testing::max_abs_diff(logits.data(), c.logits.data() + b * c.seq * V, c.lengths[b] * V), 1e-4);
  }
}

TEST_P(TwinLogits, KvCacheDecodingMatchesFullForward) {
  // Prefill a ragged prefix, then feed one token at a time: every step's logits must match.
  Case c = load_case(GetParam());
  const int64_t V = c.logits.dim(2);
  LlamaForward forward(c.model, c.batch, c.seq, c.seq);
  KVCache cache(c.model.config(), c.batch, c.seq);
  std::vector<int64_t> prefix(static_cast<size_t>(c.batch));
  for (int64_t b = 0; b < c.batch; ++b) prefix[b] = std::max<int64_t>(1, c.lengths[b] / 2);
  const int64_t prefix_max = *std::max_element(prefix.begin(), prefix.end());
  std::vector<int32_t> first(static_cast<size_t>(c.batch * prefix_max), 0);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t t = 0; t < prefix[b]; ++t) first[b * prefix_max + t] = c.tokens[b * c.seq + t];
  Tensor logits = forward.step(first, c.batch, prefix_max, prefix, cache);
  double worst = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    worst = std::max(worst, testing::max_abs_diff(logits.data() + b * V,
                                                  c.logits.data() + (b * c.seq + prefix[b] - 1) * V, V));
  for (int64_t step = 0;; ++step) {
    std::vector<int32_t> next(static_cast<size_t>(c.batch));
    std::vector<int64_t> ones(static_cast<size_t>(c.batch), 1);
    bool any = false;
    for (int64_t b = 0; b < c.batch; ++b) {
      const int64_t pos = prefix[b] + step;
      any = any || pos < c.lengths[b];
      next[b] = pos < c.seq ? c.tokens[b * c.seq + pos] : 0;
    }
    if (!any || prefix_max + step >= c.seq) break;
    bool room = true;
    for (int64_t b = 0; b < c.batch; ++b) room = room && cache.length[b] < c.seq;
    if (!room) break;
    logits = forward.step(next, c.batch, 1, ones, cache);
    for (int64_t b = 0; b < c.batch; ++b) {
      const int64_t pos = prefix[b] + step;
      if (pos < c.lengths[b])
        worst = std::max(worst, testing::max_abs_diff(logits.data() + b * V, c.logits.data() + (b * c.seq + pos) * V, V));
    }
  }
  EXPECT_LE(worst, 1e-4);
}

TEST_P(TwinLogits, Bf16LogitsWithinBf16RoundingOfTheTwinAndTheCacheAgrees) {
  // bf16 precision: every product's operands rounded to bf16, so the logits move from the fp32
  // twin's by bf16 rounding (a few 1e-3 of their range), not more; and KV-cached decoding with
  // the same bf16 copies gives the full forward's logits up to fp32 summation order.
  if (!bf16_gemm_available()) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev): no bf16 precision";
  Case c = load_case(GetParam());
  const int64_t V = c.logits.dim(2);
  LlamaForward forward(c.model, c.batch, c.seq, c.seq, Precision::bf16);
  Tensor logits = forward.logits_all(c.tokens, c.batch, c.seq);
  double range = 0;
  for (int64_t i = 0; i < c.logits.numel(); ++i) range = std::max(range, std::fabs(static_cast<double>(c.logits[i])));
  const double off = worst_valid_diff(c, logits);
  EXPECT_LE(off, 2e-2 * range);
  EXPECT_GT(off, 1e-6 * range);  // the bf16 path ran
  std::printf("bf16 logits: worst |Δ| %.2e of a range %.2e\n", off, range);
  KVCache cache(c.model.config(), c.batch, c.seq);
  std::vector<int64_t> lengths(c.lengths.begin(), c.lengths.end());
  Tensor last = forward.step(c.tokens, c.batch, c.seq, lengths, cache);  // one prefill of every sequence
  for (int64_t b = 0; b < c.batch; ++b)
    EXPECT_LE(testing::max_abs_diff(last.data() + b * V, logits.data() + (b * c.seq + c.lengths[b] - 1) * V, V),
              1e-4 * range)
        << "sequence " << b;
}

INSTANTIATE_TEST_SUITE_P(Model, TwinLogits,
                         ::testing::Values("gqa_odd", "qwen2_bias_tied", "llama3_rope", "mistral_window"));

TEST(Model, SaveLoadRoundTripIsBitExact) {
  testing::TempDir dir;
  LlamaModel m = load_model(testing::fixtures("model/qwen2_bias_tied"));
  save_model_hf(m, dir.path.string(), DType::f32, /*max_shard_bytes=*/20000);  // sharded
  LlamaModel back = load_model(dir.path.string());
  ASSERT_EQ(back.parameters().size(), m.parameters().size());
  for (size_t i = 0; i < m.parameters().size(); ++i) {
    const Tensor& a = m.parameters()[i].value;
    const Tensor& b = back.parameters()[i].value;
    EXPECT_EQ(std::memcmp(a.data(), b.data(), sizeof(float) * a.numel()), 0) << m.parameters()[i].name;
  }
}

TEST(Model, ParameterCountMatchesTheTable) {
  for (const char* name : {"gqa_odd", "qwen2_bias_tied", "llama3_rope", "mistral_window"}) {
    LlamaModel m = load_model(testing::fixtures(std::string("model/") + name));
    int64_t total = 0;
    for (const auto& p : m.parameters()) total += p.value.numel();
    EXPECT_EQ(total, m.config().parameter_count()) << name;
  }
}

TEST(Stories260K, TwinLogitsOnRealWeights) {
  const std::string hf = testing::shared_dir("models/stories260K/hf");
  SCULPT_REQUIRE_PATH(hf);
  SafetensorsFile golden(testing::fixtures("stories260K_logits.safetensors"));
  auto ids = golden.read_i64("tokens");
  Tensor ref = golden.read_f32("logits");
  LlamaModel m = load_model(hf);
  LlamaForward forward(m, 1, static_cast<int64_t>(ids.size()), static_cast<int64_t>(ids.size()));
  Tensor logits = forward.logits_all({ids.begin(), ids.end()}, 1, static_cast<int64_t>(ids.size()));
  EXPECT_LE(testing::max_abs_diff(logits, ref), 1e-4);
}

TEST(Stories260K, BinAndHfFormatsGiveTheSameLogits) {
  const std::string dir = testing::shared_dir("models/stories260K");
  SCULPT_REQUIRE_PATH(dir);
  LlamaModel bin = load_model(dir + "/stories260K.bin");
  LlamaModel hf = load_model(dir + "/hf");
  std::vector<int32_t> tokens{1, 403, 407, 261, 378, 442, 9, 37, 480, 260, 5, 300, 20, 99, 411, 2};
  LlamaForward fb(bin, 1, 16, 16), fh(hf, 1, 16, 16);
  Tensor a = fb.logits_all(tokens, 1, 16), b = fh.logits_all(tokens, 1, 16);
  EXPECT_LE(testing::max_abs_diff(a, b), 1e-5);
}

}  // namespace
}  // namespace sculpt
