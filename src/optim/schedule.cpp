#include "sculpt/optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

ScheduleKind schedule_from_name(const std::string& name) {
  if (name == "constant") return ScheduleKind::constant;
  if (name == "linear") return ScheduleKind::linear;
  if (name == "cosine") return ScheduleKind::cosine;
  throw Error("unknown learning-rate schedule '" + name + "'", "--lr-scheduler", "choose constant, linear or cosine");
}

float LrSchedule::at(int64_t step) const {
  if (step < warmup_steps) return base_lr * static_cast<float>(step) / static_cast<float>(std::max<int64_t>(1, warmup_steps));
  if (kind == ScheduleKind::constant) return base_lr;
  const double progress = static_cast<double>(step - warmup_steps) /
                          static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
  const double clamped = std::clamp(progress, 0.0, 1.0);
  if (kind == ScheduleKind::linear) return static_cast<float>(base_lr * (1.0 - clamped));
  return static_cast<float>(base_lr * 0.5 * (1.0 + std::cos(M_PI * clamped)));
}

}  // namespace sculpt
