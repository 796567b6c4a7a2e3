#include "sculpt/optim/adamw.h"

#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

AdamW::AdamW(const std::vector<Parameter>& params, const AdamWOptions& options) : options_(options) {
  std::vector<Shape> shapes;
  for (const auto& p : params) shapes.push_back(p.value.shape());
  FlatTensors m = allocate_flat(shapes), v = allocate_flat(shapes);
  layout_ = m.layout;
  m_flat_ = m.whole, v_flat_ = v.whole;
  m_ = std::move(m.views), v_ = std::move(v.views);
  rules_.resize(params.size());
}

AdamW::StepScalars AdamW::scalars(const ParamGroupRule& rule, float lr) const {
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

// One element of the step (update and update_span share it: the same bits either way).
static inline float adamw_element(const float g, float& m, float& v, const float w, const float b1, const float b2,
                                  const float eps, const float wd, const float lr, const float inv_c1,
                                  const float inv_sqrt_c2) {
  m = b1 * m + (1.f - b1) * g;
  v = b2 * v + (1.f - b2) * g * g;
  const float denom = std::sqrt(v) * inv_sqrt_c2 + eps;
  return lr * (m * inv_c1 / denom + wd * w);
}

// n elements of one step: w ← w − step, or (defer) g ← step.
static void adamw_run(int64_t n, float* w, float* g, float* m, float* v, const float b1, const float b2,
                      const float eps, const float wd, const float lr, const float inv_c1, const float inv_sqrt_c2,
                      float grad_scale, bool defer) {
  if (defer) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
    for (int64_t i = 0; i < n; ++i)
      g[i] = adamw_element(g[i] * grad_scale, m[i], v[i], w[i], b1, b2, eps, wd, lr, inv_c1, inv_sqrt_c2);
    return;
  }
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i)
    w[i] -= adamw_element(g[i] * grad_scale, m[i], v[i], w[i], b1, b2, eps, wd, lr, inv_c1, inv_sqrt_c2);
}

void AdamW::update(size_t index, Tensor& param, Tensor& grad, float lr, float grad_scale) {
  const ParamGroupRule& rule = rules_.at(index);
  const StepScalars k = scalars(rule, lr);
  if (!rule.trainable) return;
  adamw_run(param.numel(), param.data(), grad.data(), m_[index].data(), v_[index].data(), k.b1, k.b2, k.eps, k.wd,
            k.lr, k.inv_c1, k.inv_sqrt_c2, grad_scale, rule.defer);
}

void AdamW::update_span(int64_t offset, int64_t n, float* w, float* g, const StepScalars& k, float grad_scale,
                        bool defer) {
  adamw_run(n, w + offset, g + offset, m_flat_.data() + offset, v_flat_.data() + offset, k.b1, k.b2, k.eps, k.wd,
            k.lr, k.inv_c1, k.inv_sqrt_c2, grad_scale, defer);
}

namespace {
// Whether table[i] views `base` at layout.offsets[i] for every i: a flat buffer of this layout.
bool is_flat(const std::vector<Parameter>& table, const FlatLayout& layout, const float* base) {
  if (table.size() != layout.offsets.size()) return false;
  for (size_t i = 0; i < table.size(); ++i)
    if (table[i].value.data() != base + layout.offsets[i]) return false;
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
