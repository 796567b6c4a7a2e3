#include "sculpt/eval/loss.h"

#include <algorithm>
#include <cmath>

#include "sculpt/data/batching.h"
#include "sculpt/model/training_graph.h"

namespace sculpt {

double LossResult::perplexity() const { return std::exp(loss); }

namespace {
// The graph's sequence length: the longest example's inputs (its tokens but the last).
int64_t longest_inputs(const std::vector<Example>& examples) {
  int64_t longest = 1;
  for (const auto& e : examples) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  return longest;
}
}  // namespace

int64_t held_out_loss_floats(const ModelConfig& config, const std::vector<Example>& examples, int64_t rows,
                             Precision precision, int threads) {
  return TrainingMemoryPlan::make(config, rows, longest_inputs(examples), threads, TrainingGraph::kHeadChunkRows,
                                  precision)
      .loss_only();
}

LossResult held_out_loss(const LlamaModel& model, const std::vector<Example>& examples, int64_t rows,
                         Precision precision) {
  const int64_t longest = longest_inputs(examples);
  TrainingGraph graph(model, rows, longest, precision);  // (a new graph: its bf16 copies are the model's now)
  double sum = 0;
  LossResult r;
  for (size_t i = 0; i < examples.size(); i += static_cast<size_t>(rows)) {
    std::vector<const Example*> group;
    for (size_t j = i; j < std::min(examples.size(), i + static_cast<size_t>(rows)); ++j) group.push_back(&examples[j]);
    TokenBatch b = make_token_batch(group);
    sum += graph.loss(b);
    r.target_tokens += b.target_tokens();
  }
  r.loss = r.target_tokens ? sum / static_cast<double>(r.target_tokens) : 0.0;
  return r;
}

}  // namespace sculpt
