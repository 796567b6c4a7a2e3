#include "sculpt/eval/cl_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "sculpt/core/error.h"

namespace sculpt {

ClMetrics cl_metrics(const std::vector<std::vector<double>>& R, const std::vector<double>& base) {
  const size_t T = R.size();
  check(T > 0, "empty accuracy matrix", "cl_metrics", "train at least one task");
  for (const auto& row : R) check(row.size() == T, "accuracy matrix is not square", "cl_metrics", "one row per task");
  check(base.empty() || base.size() == T, "base accuracies do not match the tasks", "cl_metrics", "one per task");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ClMetrics m;
  for (size_t j = 0; j < T; ++j) m.average_accuracy += R[T - 1][j];
  m.average_accuracy /= static_cast<double>(T);
  if (T == 1) {
    m.backward_transfer = m.forward_transfer = m.max_forgetting = nan;
    return m;
  }
  const double n = static_cast<double>(T - 1);
  for (size_t j = 0; j + 1 < T; ++j) {
    m.backward_transfer += R[T - 1][j] - R[j][j];
    double worst = -std::numeric_limits<double>::infinity();  // negative when the task improved later
    for (size_t i = j; i + 1 < T; ++i) worst = std::max(worst, R[i][j] - R[T - 1][j]);
    m.max_forgetting += worst;
  }
  m.backward_transfer /= n;
  m.max_forgetting /= n;
  if (base.empty()) {
    m.forward_transfer = nan;
  } else {
    for (size_t j = 1; j < T; ++j) m.forward_transfer += R[j - 1][j] - base[j];
    m.forward_transfer /= n;
  }
  return m;
}

}  // namespace sculpt
