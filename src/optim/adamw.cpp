#include "sculpt/optim/adamw.h"

#include <cmath>
#include <string>

#include "sculpt/core/error.h"

namespace sculpt {

AdamW::AdamW(const std::vector<Parameter>& params, const AdamWOptions& options, Backend& backend)
    : options_(options), backend_(backend) {
  std::vector<Shape> shapes;
  for (const auto& p : params) shapes.push_back(p.value.shape());
  FlatTensors m = allocate_flat(shapes), v = allocate_flat(shapes);
  layout_ = m.layout;
  m_flat_ = m.whole, v_flat_ = v.whole;
  m_ = std::move(m.views), v_ = std::move(v.views);
  rules_.resize(params.size());
}

AdamWScalars AdamW::scalars(const ParamGroupRule& rule, float lr) const {
  if (t_ <= 0) throw Error("AdamW step before begin_step", "optimizer");
  const double c1 = 1.0 - std::pow(static_cast<double>(options_.beta1), static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(static_cast<double>(options_.beta2), static_cast<double>(t_));
  return {options_.beta1,
          options_.beta2,
          options_.eps,
          rule.weight_decay >= 0.f ? rule.weight_decay : options_.weight_decay,
          lr * rule.lr_scale,
          static_cast<float>(1.0 / c1),
          static_cast<float>(1.0 / std::sqrt(c2))};
}

void AdamW::update(size_t index, Tensor& param, Tensor& grad, float lr, float grad_scale) {
  const ParamGroupRule& rule = rules_.at(index);
  const AdamWScalars k = scalars(rule, lr);
  if (!rule.trainable) return;
  backend_.adamw(param, grad, m_[index], v_[index], k, grad_scale, rule.defer);
}

void AdamW::update_all(std::vector<Parameter>& params, std::vector<Parameter>& grads, float lr, float grad_scale) {
  check(params.size() == rules_.size() && grads.size() == rules_.size(), "parameter and gradient tables differ",
        "optimizer");
  for (size_t i = 0; i < params.size(); ++i) update(i, params[i].value, grads[i].value, lr, grad_scale);
}

void AdamW::update_flat(Tensor& params_flat, Tensor& grads_flat, float lr, float grad_scale) {
  if (params_flat.numel() != layout_.total || grads_flat.numel() != layout_.total)  // (the step builds no strings)
    throw Error("flat buffers of " + std::to_string(params_flat.numel()) + " and " +
                    std::to_string(grads_flat.numel()) + " elements for an optimizer laid out over " +
                    std::to_string(layout_.total),
                "optimizer");
  // Runs of consecutive parameters with the same rule: one pass each (one for plain fine-tuning).
  const auto same = [](const ParamGroupRule& a, const ParamGroupRule& b) {
    return a.trainable == b.trainable && a.lr_scale == b.lr_scale && a.weight_decay == b.weight_decay &&
           a.defer == b.defer;
  };
  for (size_t begin = 0; begin < rules_.size();) {
    size_t end = begin + 1;
    while (end < rules_.size() && same(rules_[end], rules_[begin])) ++end;
    if (rules_[begin].trainable) {
      const int64_t first = layout_.offsets[begin];
      const int64_t n = (end < rules_.size() ? layout_.offsets[end] : layout_.total) - first;
      Tensor w = params_flat.view(first, {n}), g = grads_flat.view(first, {n});
      Tensor m = m_flat_.view(first, {n}), v = v_flat_.view(first, {n});
      backend_.adamw(w, g, m, v, scalars(rules_[begin], lr), grad_scale, rules_[begin].defer);
    }
    begin = end;
  }
}

}  // namespace sculpt
