// Log-likelihood ranking over a label set: every (example, label) score equals minus the summed
// cross-entropy the training graph computes on that prompt + label sequence (an independent code
// path: full-sequence forward instead of the KV-cached steps), the prediction is the argmax, and
// the label set keeps the examples' own tokenization.
#include <gtest/gtest.h>

#include <algorithm>

#include "sculpt/core/error.h"
#include "sculpt/eval/label_ranking.h"
#include "sculpt/eval/loss.h"
#include "tiny_model.h"

namespace sculpt {
namespace {

constexpr int32_t kEos = 2;

// prompt tokens, then the label's tokens and EOS as targets.
Example make_example(const std::vector<int32_t>& prompt, const std::vector<int32_t>& label, const std::string& text) {
  Example e;
  e.tokens = prompt;
  e.target.assign(prompt.size(), 0);
  for (int32_t t : label) e.tokens.push_back(t), e.target.push_back(1);
  e.tokens.push_back(kEos), e.target.push_back(1);
  e.target_text = text;
  return e;
}

TEST(LabelRanking, ScoresAreTheTrainingGraphsLogLikelihoodsAndTheArgmaxIsThePrediction) {
  const LlamaModel m = testing::tiny_model({.layers = 2, .vocab = 40}, 7, 0.5f);
  // Labels of different lengths (1 to 3 tokens), prompts of different lengths.
  const std::vector<std::pair<std::string, std::vector<int32_t>>> label_tokens = {
      {"red", {11}}, {"dark blue", {12, 13}}, {"green", {14, 15, 16}}};
  std::vector<Example> examples;
  Rng rng(3);
  for (int i = 0; i < 7; ++i) {
    std::vector<int32_t> prompt{1};
    for (int t = 0; t < 3 + i; ++t) prompt.push_back(static_cast<int32_t>(20 + rng.below(20)));
    const auto& [text, ids] = label_tokens[static_cast<size_t>(i % 3)];
    examples.push_back(make_example(prompt, ids, i == 4 ? "  Dark Blue " : text));  // normalised
  }
  const std::vector<Label> labels = label_set(examples);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[1].text, "dark blue");
  EXPECT_EQ(labels[2].tokens, (std::vector<int32_t>{14, 15, 16, kEos}));
  // Built in two parts (train, then test), the set is the same.
  const std::vector<Example> first(examples.begin(), examples.begin() + 2), rest(examples.begin() + 2, examples.end());
  const std::vector<Label> joined = label_set(rest, label_set(first));
  ASSERT_EQ(joined.size(), labels.size());
  for (size_t l = 0; l < labels.size(); ++l) EXPECT_EQ(joined[l].text, labels[l].text);

  for (int64_t batch : {1, 4, 64}) {  // one example per forward, a few, all at once
    const RankingResult r = rank_labels(m, examples, labels, batch);
    ASSERT_EQ(r.scores.size(), examples.size());
    int64_t correct = 0;
    for (size_t i = 0; i < examples.size(); ++i) {
      const size_t prompt_len = static_cast<size_t>(std::find(examples[i].target.begin(), examples[i].target.end(), 1) -
                                                    examples[i].target.begin());
      const std::vector<int32_t> prompt(examples[i].tokens.begin(), examples[i].tokens.begin() + prompt_len);
      for (size_t l = 0; l < labels.size(); ++l) {
        std::vector<int32_t> ids(labels[l].tokens.begin(), labels[l].tokens.end() - 1);  // without EOS
        const Example candidate = make_example(prompt, ids, labels[l].text);
        const LossResult ref = held_out_loss(m, {candidate}, 1);
        ASSERT_EQ(ref.target_tokens, static_cast<int64_t>(labels[l].tokens.size()));
        EXPECT_NEAR(r.scores[i][l], -ref.loss * static_cast<double>(ref.target_tokens), 1e-4)
            << "example " << i << " label " << l << " batch " << batch;
      }
      const auto best = std::max_element(r.scores[i].begin(), r.scores[i].end()) - r.scores[i].begin();
      EXPECT_EQ(r.match.predictions[i], labels[static_cast<size_t>(best)].text);
      const bool hit = r.match.predictions[i] == normalize_answer(examples[i].target_text);
      correct += hit;
      EXPECT_EQ(r.match.matched.at(i), hit ? '1' : '0') << "example " << i;  // the paired bootstrap's input
    }
    EXPECT_EQ(r.match.correct, correct);
    EXPECT_EQ(r.match.total, static_cast<int64_t>(examples.size()));
  }
}

// An example that fits the 32-position context with its own 1-token label but not with a 3-token
// one: its prompt is cut in the middle (start and last cue tokens kept) for every label alike.
TEST(LabelRanking, APromptTooLongForTheLongestLabelIsCutInTheMiddle) {
  const LlamaModel m = testing::tiny_model({.vocab = 40}, 2, 0.5f);
  std::vector<int32_t> prompt{1};
  for (int t = 0; t < 29; ++t) prompt.push_back(static_cast<int32_t>(20 + t % 20));
  const std::vector<Example> examples{make_example(prompt, {11}, "red")};  // 30 + 1 + EOS = 32 positions
  const std::vector<Label> labels{{"red", {11, kEos}}, {"light green", {14, 15, 16, kEos}}};
  const RankingResult r = rank_labels(m, examples, labels);
  std::vector<int32_t> cut = prompt;
  cut_middle(cut, 0, static_cast<int64_t>(cut.size()), 30 + 4 - 32);
  ASSERT_EQ(cut.size(), 28u);
  for (size_t l = 0; l < labels.size(); ++l) {
    const std::vector<int32_t> ids(labels[l].tokens.begin(), labels[l].tokens.end() - 1);
    const LossResult ref = held_out_loss(m, {make_example(cut, ids, labels[l].text)}, 1);
    EXPECT_NEAR(r.scores[0][l], -ref.loss * static_cast<double>(ref.target_tokens), 1e-4) << l;
  }
  const std::vector<Label> too_long{{"x", std::vector<int32_t>(32, 11)}};
  EXPECT_THROW(rank_labels(m, examples, too_long), Error);
}

TEST(LabelRanking, AnAnswerOutsideTheLabelSetCountsAsWrongAndEmptySetsAreRefused) {
  const LlamaModel m = testing::tiny_model({.vocab = 40}, 1, 0.5f);
  const std::vector<Example> examples{make_example({1, 20, 21}, {11}, "red"), make_example({1, 22}, {12}, "blue")};
  const std::vector<Label> only_red{{"red", {11, kEos}}};
  const RankingResult r = rank_labels(m, examples, only_red);
  EXPECT_EQ(r.match.predictions, (std::vector<std::string>{"red", "red"}));
  EXPECT_EQ(r.match.correct, 1);
  EXPECT_EQ(r.match.matched, "10");  // "red" is right for the first example only
  EXPECT_THROW(rank_labels(m, examples, {}), Error);
}

}  // namespace
}  // namespace sculpt
