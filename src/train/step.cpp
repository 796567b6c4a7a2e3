#include "sculpt/train/step.h"

#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

StepStats optimizer_step(LlamaModel& model, TrainingGraph& graph, Gradients& grads, AdamW& optimizer,
                         const std::vector<TokenBatch>& micro_batches, float lr, float max_grad_norm,
                         Strategy* strategy, bool measure) {
  StepStats stats;
  stats.lr = lr;
  for (const auto& mb : micro_batches) {
    stats.target_tokens += mb.target_tokens();
    stats.tokens += mb.batch * mb.seq;
  }
  check(stats.target_tokens > 0, "the step has no target tokens", "training",
        "every example needs at least one completion token inside --max-seq-len");
  graph.load_weights();  // bf16: the weights the last step changed, rounded for this step's products
  // The first micro-batch writes the gradients and the rest add to them: no zero-fill.
  const float scale = 1.f / static_cast<float>(stats.target_tokens);
  double loss_sum = 0;
  for (size_t i = 0; i < micro_batches.size(); ++i)
    loss_sum += graph.forward_backward(micro_batches[i], scale, grads, i == 0 ? Write::overwrite : Write::accumulate);
  stats.loss = loss_sum / static_cast<double>(stats.target_tokens);
  if (!std::isfinite(stats.loss))  // (the message is built only on failure: no allocation in the step)
    throw Error("the loss is not finite (" + std::to_string(stats.loss) + ")", "training",
                "lower --learning-rate or check the data; the last checkpoint is intact");
  if (strategy) strategy->on_gradients(model, grads);
  stats.grad_norm = grads.global_norm();
  if (strategy) stats.grad_norm = std::sqrt(stats.grad_norm * stats.grad_norm + strategy->extra_grad_norm_sq());
  // torch.nn.utils.clip_grad_norm_: scale by max/(norm + 1e-6) when that is below 1.
  float clip_scale = 1.f;
  if (max_grad_norm > 0.f) {
    const double coef = max_grad_norm / (stats.grad_norm + 1e-6);
    if (coef < 1.0) clip_scale = static_cast<float>(coef);
  }
  optimizer.begin_step();
  // Clipping, the AdamW step and its application in one pass over the flat buffers.
  optimizer.update_flat(model.flat(), grads.flat(), lr, clip_scale);
  if (strategy) {
    strategy->after_step(model, grads, lr, clip_scale, measure);
    if (measure) stats.strategy_metrics = strategy->step_metrics();
  }
  return stats;
}

}  // namespace sculpt
