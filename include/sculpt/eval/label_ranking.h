// Log-likelihood ranking over a task's label set, the O-LoRA protocol's alternative to greedy
// generation: each example's prompt is scored with every label of its task as the continuation,
// and the prediction is the label whose tokens (EOS included) have the highest total
// log-probability. Unlike generation it cannot answer outside the label set, so it separates
// "the model no longer knows the answer" from "the model answers with another task's labels".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/eval/exact_match.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"

namespace sculpt {

struct Label {
  std::string text;             // normalize_answer of the examples' target text
  std::vector<int32_t> tokens;  // the examples' own target tokens for it (first target run, EOS included)
};

// Every distinct label among `examples`, in first-seen order, with the token ids the examples use,
// appended to `known` (labels already there are kept as they are): label_set(test, label_set(train)).
std::vector<Label> label_set(const std::vector<Example>& examples, std::vector<Label> known = {});

struct RankingResult {
  ExactMatchResult match;                  // predictions are label texts
  std::vector<std::vector<double>> scores;  // [example][label]: Σ log p(label tokens | prompt)
};

// Every (example, label) pair is one sequence of a KV-cached forward (the prompt, then the
// label's tokens fed one by one), about `batch` sequences per forward (at least one example's
// labels). Ties go to the earlier label. A prompt that does not fit the model's context with the
// longest label is cut in the middle (cut_middle: its start and its last kCueTokens stay).
// An example whose own label is not in `labels` counts as wrong.
RankingResult rank_labels(const LlamaModel& model, const std::vector<Example>& examples,
                          const std::vector<Label>& labels, int64_t batch = 16, Precision precision = Precision::fp32);

}  // namespace sculpt
