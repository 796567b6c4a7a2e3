// Held-out loss: mean cross-entropy per target token, and its perplexity.
#pragma once
#include <cstdint>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"

namespace sculpt {

struct LossResult {
  double loss = 0;          // mean CE per target token
  int64_t target_tokens = 0;
  double perplexity() const;
};

// Forward passes in micro-batches of `rows` sequences (no gradients).
LossResult held_out_loss(const LlamaModel& model, const std::vector<Example>& examples, int64_t rows = 8,
                         Precision precision = Precision::fp32);

// Floats held_out_loss holds at its peak: its graph's activations, the part of the workspace a
// loss-only pass writes, and in bf16 the weight copies.
int64_t held_out_loss_floats(const ModelConfig& config, const std::vector<Example>& examples, int64_t rows,
                             Precision precision, int threads);

}  // namespace sculpt
