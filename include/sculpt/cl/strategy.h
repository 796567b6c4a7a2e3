// The hook points every continual-learning method plugs into (DESIGN.md §3). A strategy owns
// its state (subspaces, Fisher, buffers, adapters); a new method is one new file in cl/.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "sculpt/model/llama.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/optim/adamw.h"

namespace sculpt {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Before the first step of a task (and never again for that task).
  virtual void begin_task(LlamaModel& model, AdamW& optimizer) {}
  // After backward, before clipping: may rewrite gradients (e.g. gradient-mode projection).
  virtual void on_gradients(LlamaModel& model, Gradients& grads) {}
  // Squared norm of gradients the strategy holds itself (e.g. factored OSFT's U/Σ/V), added to
  // the global norm that clipping uses.
  virtual double extra_grad_norm_sq() const { return 0.0; }
  // After AdamW computed parameter `index`'s step, before it is applied.
  virtual void on_step(size_t index, const Tensor& param, Tensor& step) {}
  // After the model's parameters were updated: a strategy with its own parameters updates them
  // here (lr of this step; clip_scale ≤ 1 is the global clipping factor).
  virtual void on_optimizer_step(LlamaModel& model, float lr, float clip_scale) {}
  // After every parameter of the step was updated.
  virtual void after_apply(LlamaModel& model, bool measure) {}
  // Numbers for the step line and metrics.jsonl (measured in the last after_apply).
  virtual std::vector<std::pair<std::string, double>> step_metrics() const { return {}; }
  // Checkpoint support: state a resumed run needs to continue bit-identically.
  virtual void save_state(const std::string& dir) const {}
  virtual void load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) {}
  virtual void end_task(LlamaModel& model) {}
};

}  // namespace sculpt
