#include "sculpt/data/batching.h"

#include <algorithm>
#include <numeric>

#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"

namespace sculpt {

std::vector<int64_t> epoch_order(int64_t count, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(epoch) + 1);
  shuffle(order, rng);
  return order;
}

TokenBatch make_token_batch(const std::vector<const Example*>& examples) {
  TokenBatch b;
  b.batch = static_cast<int64_t>(examples.size());
  for (const Example* e : examples) b.seq = std::max<int64_t>(b.seq, static_cast<int64_t>(e->tokens.size()) - 1);
  const size_t n = static_cast<size_t>(b.batch * b.seq);
  b.tokens.assign(n, 0);
  b.targets.assign(n, 0);
  b.loss_mask.assign(n, 0.f);
  for (int64_t r = 0; r < b.batch; ++r) {
    const Example& e = *examples[r];
    for (size_t t = 0; t + 1 < e.tokens.size(); ++t) {
      b.tokens[r * b.seq + t] = e.tokens[t];
      b.targets[r * b.seq + t] = e.tokens[t + 1];
      b.loss_mask[r * b.seq + t] = e.target[t + 1] ? 1.f : 0.f;
    }
  }
  return b;
}

StepBatcher::StepBatcher(const std::vector<Example>& examples, int64_t effective_batch_size,
                         int64_t max_tokens_per_batch, uint64_t seed)
    : examples_(examples), effective_batch_(effective_batch_size), max_tokens_(max_tokens_per_batch), seed_(seed) {
  check(!examples.empty(), "no training examples", "batching");
  check(effective_batch_size > 0, "--effective-batch-size must be positive", "batching");
  for (const auto& e : examples) max_seq_ = std::max<int64_t>(max_seq_, static_cast<int64_t>(e.tokens.size()) - 1);
  check(max_seq_ <= max_tokens_per_batch,
        "an example of " + std::to_string(max_seq_) + " tokens does not fit --max-tokens-per-batch " +
            std::to_string(max_tokens_per_batch),
        "batching", "raise --max-tokens-per-batch to at least --max-seq-len");
  order_ = epoch_order(static_cast<int64_t>(examples.size()), seed_, 0);
}

int64_t StepBatcher::steps_per_epoch() const {
  const int64_t n = static_cast<int64_t>(examples_.size());
  return (n + effective_batch_ - 1) / effective_batch_;
}

void StepBatcher::set_cursor(const DataCursor& c) {
  cursor_ = c;
  order_ = epoch_order(static_cast<int64_t>(examples_.size()), seed_, c.epoch);
}

std::vector<TokenBatch> StepBatcher::next_step() {
  const int64_t n = static_cast<int64_t>(examples_.size());
  if (cursor_.position >= n) set_cursor({cursor_.epoch + 1, 0});
  const int64_t end = std::min(n, cursor_.position + effective_batch_);
  std::vector<const Example*> step;
  for (int64_t i = cursor_.position; i < end; ++i) step.push_back(&examples_[order_[i]]);
  cursor_.position = end;
  // Longest first (stable, so ties keep shuffle order), then greedy packing under the budget.
  std::stable_sort(step.begin(), step.end(),
                   [](const Example* a, const Example* b) { return a->tokens.size() > b->tokens.size(); });
  std::vector<TokenBatch> micro;
  std::vector<const Example*> group;
  int64_t longest = 0;
  for (const Example* e : step) {
    const int64_t len = static_cast<int64_t>(e->tokens.size()) - 1;
    const int64_t would = std::max(longest, len) * static_cast<int64_t>(group.size() + 1);
    if (!group.empty() && would > max_tokens_) {
      micro.push_back(make_token_batch(group));
      group.clear();
      longest = 0;
    }
    group.push_back(e);
    longest = std::max(longest, len);
  }
  if (!group.empty()) micro.push_back(make_token_batch(group));
  return micro;
}

}  // namespace sculpt
