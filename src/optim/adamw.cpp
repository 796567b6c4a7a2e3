#include "sculpt/optim/adamw.h"

#include <cmath>

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

void AdamW::update_span(int64_t offset, int64_t n, float* w, float* g, const AdamWScalars& k, float grad_scale,
                        bool defer) {
  Tensor ws = Tensor::wrap(w + offset, {n}), gs = Tensor::wrap(g + offset, {n});
  Tensor ms = m_flat_.view(offset, {n}), vs = v_flat_.view(offset, {n});
  backend_.adamw(ws, gs, ms, vs, k, grad_scale, defer);
}

namespace {
// Whether table[i] views `base` at layout.offsets[i] for every i: a flat buffer of this layout.
bool is_flat(const std::vector<Parameter>& table, const FlatLayout& layout, const float* base) {
  if (table.size() != layout.offsets.size()) return false;
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].value.address() != base + layout.offsets[i]) return false;
  return true;
}
}  // namespace

void AdamW::update_all(std::vector<Parameter>& params, std::vector<Parameter>& grads, float lr, float grad_scale) {
  check(params.size() == rules_.size() && grads.size() == rules_.size(), "parameter and gradient tables differ",
        "optimizer");
  float* w = params.empty() ? nullptr : params[0].value.data() - layout_.offsets[0];
  float* g = grads.empty() ? nullptr : grads[0].value.data() - layout_.offsets[0];
  if (params.empty() || !is_flat(params, layout_, w) || !is_flat(grads, layout_, g)) {
    for (size_t i = 0; i < params.size(); ++i) update(i, params[i].value, grads[i].value, lr, grad_scale);
    return;
  }
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
      const int64_t last = end < rules_.size() ? layout_.offsets[end] : layout_.total;
      update_span(first, last - first, w, g, scalars(rules_[begin], lr), grad_scale, rules_[begin].defer);
    }
    begin = end;
  }
}

}  // namespace sculpt
