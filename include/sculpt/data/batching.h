// From examples to the micro-batches of each optimizer step.
//   - Each epoch visits the examples in a seeded shuffle (Fisher–Yates with Rng(seed, epoch)).
//   - An optimizer step takes the next `effective_batch_size` examples of that order (the last
//     step of an epoch may take fewer).
//   - The step's examples, longest first, are packed into micro-batches whose padded size
//     (sequences × longest sequence) stays within `max_tokens_per_batch`.
// The position (epoch, index into the order) is the data cursor saved in checkpoints.
#pragma once
#include <cstdint>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/model/training_graph.h"

namespace sculpt {

std::vector<int64_t> epoch_order(int64_t count, uint64_t seed, int64_t epoch);

struct DataCursor {
  int64_t epoch = 0;
  int64_t position = 0;  // index into epoch_order(epoch)
};

class StepBatcher {
 public:
  StepBatcher(const std::vector<Example>& examples, int64_t effective_batch_size, int64_t max_tokens_per_batch,
              uint64_t seed);
  int64_t steps_per_epoch() const;
  // The micro-batches of the next optimizer step; advances the cursor.
  std::vector<TokenBatch> next_step();
  const DataCursor& cursor() const { return cursor_; }
  void set_cursor(const DataCursor& c);
  int64_t max_seq() const { return max_seq_; }

 private:
  const std::vector<Example>& examples_;
  int64_t effective_batch_, max_tokens_;
  uint64_t seed_;
  DataCursor cursor_;
  std::vector<int64_t> order_;
  int64_t max_seq_ = 0;  // longest example minus one (inputs exclude the last token)
};

// Right-padded batch of examples: inputs tokens[0..n−2], targets tokens[1..n−1].
TokenBatch make_token_batch(const std::vector<const Example*>& examples);

}  // namespace sculpt
