#include <gtest/gtest.h>

#include "sculpt/core/error.h"
#include "sculpt/model/generate.h"
#include "sculpt/model/llama.h"
#include "sculpt/text/tokenizer.h"
#include "test_support.h"

namespace sculpt {
namespace {

// ../shared/data/README.md quotes the reference continuation.
const char* const kReference =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park.";

std::string greedy_story(const std::string& model_path) {
  LlamaModel m = load_model(model_path);
  auto tok = load_tokenizer(model_path);
  GenerationOptions o;
  o.max_new_tokens = 40;
  o.stop_tokens = {tok->eos_id()};
  auto prompt = tok->encode_for_model("Once upon a time");
  auto out = generate(m, {prompt}, o);
  prompt.insert(prompt.end(), out[0].begin(), out[0].end());
  return tok->decode(prompt, true);
}

TEST(Stories260K, GreedyStoryStartsWithTheReferenceSentenceInBothFormats) {
  const std::string dir = testing::shared_dir("models/stories260K");
  SCULPT_REQUIRE_PATH(dir);
  const std::string from_hf = greedy_story(dir + "/hf");
  const std::string from_bin = greedy_story(dir + "/stories260K.bin");
  EXPECT_EQ(from_hf.rfind(kReference, 0), 0u) << from_hf;
  EXPECT_EQ(from_bin, from_hf);
}

TEST(Generate, RaggedBatchEqualsOneByOne) {
  LlamaModel m = load_model(testing::fixtures("model/gqa_odd"));
  std::vector<std::vector<int32_t>> prompts{{5, 9, 13, 40, 2}, {7}, {11, 12, 13}};
  GenerationOptions o;
  o.max_new_tokens = 12;
  auto together = generate(m, prompts, o);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(generate(m, {prompts[i]}, o)[0], together[i]) << i;
}

TEST(Generate, StopsAtStopTokenAndHonoursContext) {
  LlamaModel m = load_model(testing::fixtures("model/gqa_odd"));
  GenerationOptions o;
  o.max_new_tokens = 10;
  auto free_run = generate(m, {{3, 4}}, o)[0];
  ASSERT_EQ(free_run.size(), 10u);
  o.stop_tokens = {free_run[2]};
  auto stopped = generate(m, {{3, 4}}, o)[0];
  EXPECT_LE(stopped.size(), 3u);
  EXPECT_EQ(stopped.back(), free_run[2]);
  o.max_new_tokens = 100;  // 2 + 100 > 64 positions
  EXPECT_THROW(generate(m, {{3, 4}}, o), Error);
}

TEST(Sampling, GreedyTemperatureAndTopP) {
  Rng rng(5);
  std::vector<float> logits{0.f, 3.f, 1.f, 3.f};
  EXPECT_EQ(sample_token(logits.data(), 4, {0.f, 1.f}, rng), 1);  // lowest id among ties
  // top_p small keeps only the top token(s): index 1 or 3.
  for (int i = 0; i < 200; ++i) {
    int32_t t = sample_token(logits.data(), 4, {1.f, 0.3f}, rng);
    EXPECT_TRUE(t == 1 || t == 3);
  }
  // At temperature 1 the empirical frequencies follow the softmax.
  std::vector<int> counts(4, 0);
  const int n = 40000;
  for (int i = 0; i < n; ++i) counts[sample_token(logits.data(), 4, {1.f, 1.f}, rng)]++;
  double z = 1 + 2 * std::exp(3.0) + std::exp(1.0);
  EXPECT_NEAR(counts[0] / double(n), 1 / z, 0.01);
  EXPECT_NEAR(counts[2] / double(n), std::exp(1.0) / z, 0.01);
  EXPECT_NEAR(counts[1] / double(n), std::exp(3.0) / z, 0.015);
}

}  // namespace
}  // namespace sculpt
