// AdamW with decoupled weight decay, computed and applied in one pass (DESIGN.md §3); strategies
// that confine the update repair the weights after it (Strategy::after_step).
//   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  m̂ = m/(1−β1ᵗ);  v̂ = v/(1−β2ᵗ)
//   step = lr · (m̂/(√v̂ + ε) + wd · W);   W ← W − step
// This equals torch.optim.AdamW (which scales W by 1 − lr·wd before the Adam update).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/core/flat_tensors.h"
#include "sculpt/core/tensor.h"
#include "sculpt/model/llama.h"

namespace sculpt {

struct AdamWOptions {
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.f;  // the OSFT trainers' defaults
};

// Per-parameter treatment (parameter groups): frozen parameters get no state and no step.
struct ParamGroupRule {
  bool trainable = true;
  float lr_scale = 1.f;
  float weight_decay = -1.f;  // < 0: use AdamWOptions::weight_decay
  // The step is written into the gradient (W − step is the plain update) and not applied: the
  // caller confines it first (OSFT update mode, Strategy::after_step).
  bool defer = false;
};

class AdamW {
 public:
  // The step runs on `backend` (the moments live on its device, as the parameters must).
  AdamW(const std::vector<Parameter>& params, const AdamWOptions& options, Backend& backend = cpu_backend());

  // Sets the group rule of parameter `index` (order of the model's parameter table).
  void set_rule(size_t index, const ParamGroupRule& rule) { rules_.at(index) = rule; }
  const ParamGroupRule& rule(size_t index) const { return rules_.at(index); }

  // Call once per optimizer step, before the parameters' updates.
  void begin_step() { ++t_; }
  // Advances parameter `index`'s moments with grad·grad_scale (global-norm clipping applied as
  // the gradient is read) and applies the step to `param`, in one pass; under a `defer` rule the
  // step replaces the gradient instead.
  void update(size_t index, Tensor& param, Tensor& grad, float lr, float grad_scale);
  // update() for every parameter of a table, parameter by parameter (a strategy's own tables).
  void update_all(std::vector<Parameter>& params, std::vector<Parameter>& grads, float lr, float grad_scale);
  // The same step over the flat buffers of the parameters this optimizer was built for and of
  // their gradients (core/flat_tensors.h: the layout its moments share): the parameters that share
  // a rule are stepped in one pass over their span, gaps included. The same bits as update_all:
  // the step is elementwise.
  void update_flat(Tensor& params_flat, Tensor& grads_flat, float lr, float grad_scale);

  int64_t step_count() const { return t_; }
  void set_step_count(int64_t t) { t_ = t; }
  std::vector<Tensor>& first_moments() { return m_; }
  std::vector<Tensor>& second_moments() { return v_; }
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
  Backend& backend_;
  FlatLayout layout_;          // of the parameters' shapes
  Tensor m_flat_, v_flat_;     // (layout_.total,)
  std::vector<Tensor> m_, v_;  // per parameter, same shapes: views of m_flat_, v_flat_
  std::vector<ParamGroupRule> rules_;
  int64_t t_ = 0;

  // The scalars of one parameter's step (bias corrections, its lr and weight decay).
  AdamWScalars scalars(const ParamGroupRule& rule, float lr) const;
};

}  // namespace sculpt
