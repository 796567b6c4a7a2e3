#include "sculpt/cl/sequential.h"

#include <algorithm>
#include <cmath>

#include "sculpt/data/batching.h"

namespace sculpt {

int64_t ReplayStrategy::replayed(int64_t count) const {
  if (count == 0) return 0;
  return std::clamp<int64_t>(std::llround(options_.fraction * static_cast<double>(count)), 1, count);
}

std::vector<Example> ReplayStrategy::training_examples(const std::vector<const std::vector<Example>*>& tasks,
                                                       size_t task) const {
  std::vector<Example> out = *tasks.at(task);
  for (size_t j = 0; j < task; ++j) {
    const auto& earlier = *tasks[j];
    // The same subset of task j whenever it is replayed: seeded by the task's index.
    const auto order = epoch_order(static_cast<int64_t>(earlier.size()), options_.seed + 7919 * (j + 1), 0);
    const int64_t n = replayed(static_cast<int64_t>(earlier.size()));
    for (int64_t k = 0; k < n; ++k) out.push_back(earlier[static_cast<size_t>(order[static_cast<size_t>(k)])]);
  }
  return out;
}

std::vector<Example> MultiTaskStrategy::training_examples(const std::vector<const std::vector<Example>*>& tasks,
                                                          size_t task) const {
  std::vector<Example> out;
  for (size_t j = 0; j <= task; ++j) out.insert(out.end(), tasks[j]->begin(), tasks[j]->end());
  return out;
}

}  // namespace sculpt
