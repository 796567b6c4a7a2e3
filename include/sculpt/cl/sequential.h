// The baselines that need no hook inside the step:
//   seqft   plain sequential full fine-tuning, task after task (the lower bound);
//   replay  sequential fine-tuning with a seeded fraction of every earlier task's training
//           examples mixed into each new task's data (experience replay);
//   mtl     all tasks' training examples at once, one stage (multi-task learning, the upper bound).
#pragma once
#include <cstdint>

#include "sculpt/cl/strategy.h"

namespace sculpt {

class SeqFtStrategy : public Strategy {
 public:
  std::string name() const override { return "seqft"; }
};

struct ReplayOptions {
  double fraction = 0.1;  // of each earlier task's training examples, at least one
  uint64_t seed = 0;
};

class ReplayStrategy : public Strategy {
 public:
  explicit ReplayStrategy(ReplayOptions options) : options_(options) {}
  std::string name() const override { return "replay"; }
  // Task `task`'s examples followed by each earlier task's replayed subset (the batcher shuffles).
  std::vector<Example> training_examples(const std::vector<const std::vector<Example>*>& tasks,
                                         size_t task) const override;
  // How many of `count` examples of an earlier task are replayed.
  int64_t replayed(int64_t count) const;

 private:
  ReplayOptions options_;
};

class MultiTaskStrategy : public Strategy {
 public:
  std::string name() const override { return "mtl"; }
  bool joint() const override { return true; }
  std::vector<Example> training_examples(const std::vector<const std::vector<Example>*>& tasks,
                                         size_t task) const override;
};

}  // namespace sculpt
