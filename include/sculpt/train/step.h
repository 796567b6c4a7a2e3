// One optimizer step over one or more micro-batches (gradient accumulation), shared by every
// training command: zero grads → forward/backward each micro-batch with its loss weighted by
// 1/(target tokens of the whole step) → strategy.on_gradients → clip the global norm →
// AdamW step and apply (one pass over the flat buffers) → strategy.after_step.
#pragma once
#include <cstdint>
#include <vector>

#include "sculpt/cl/strategy.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/optim/adamw.h"

namespace sculpt {

struct StepStats {
  double loss = 0;        // mean cross-entropy per target token of the step
  double grad_norm = 0;   // global norm before clipping
  float lr = 0;
  int64_t target_tokens = 0, tokens = 0;
  std::vector<std::pair<std::string, double>> strategy_metrics;  // e.g. OSFT's leak
};

StepStats optimizer_step(LlamaModel& model, TrainingGraph& graph, Gradients& grads, AdamW& optimizer,
                         const std::vector<TokenBatch>& micro_batches, float lr, float max_grad_norm,
                         Strategy* strategy = nullptr, bool measure = true);

}  // namespace sculpt
