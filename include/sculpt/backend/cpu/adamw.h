// The AdamW step over fp32 spans (the CPU backend's adamw; optim/adamw.h states the method).
#pragma once
#include <cstdint>

namespace sculpt {

struct AdamWScalars;

// n elements: m, v advance with g · grad_scale; then w ← w − step, or (defer) g ← step.
void adamw_span(int64_t n, float* w, float* g, float* m, float* v, const AdamWScalars& k, float grad_scale,
                bool defer);

}  // namespace sculpt
