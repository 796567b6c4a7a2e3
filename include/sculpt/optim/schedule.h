// Learning-rate schedules with linear warm-up. `step` is the 1-based index of the optimizer step
// being taken: during warm-up lr·step/warmup, then constant, linear decay to 0, or cosine decay
// to 0 at `total_steps` (Hugging Face's schedules, shifted so the first step is not wasted at 0).
#pragma once
#include <cstdint>
#include <string>

namespace sculpt {

enum class ScheduleKind { constant, linear, cosine };

ScheduleKind schedule_from_name(const std::string& name);  // throws Error on unknown names

struct LrSchedule {
  ScheduleKind kind = ScheduleKind::cosine;
  float base_lr = 1e-5f;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;
  float at(int64_t step) const;
};

}  // namespace sculpt
