#include "sculpt/optim/adamw.h"

#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

AdamW::AdamW(const std::vector<Parameter>& params, const AdamWOptions& options) : options_(options) {
  for (const auto& p : params) {
    m_.push_back(Tensor::zeros(p.value.shape()));
    v_.push_back(Tensor::zeros(p.value.shape()));
  }
  rules_.resize(params.size());
}

void AdamW::compute_step(size_t index, const Tensor& param, const Tensor& grad, float lr, Tensor& step) {
  check(t_ > 0, "AdamW::compute_step before begin_step", "optimizer");
  const ParamGroupRule& rule = rules_.at(index);
  if (!rule.trainable) {
    step.fill(0.f);
    return;
  }
  const float wd = rule.weight_decay >= 0.f ? rule.weight_decay : options_.weight_decay;
  const float b1 = options_.beta1, b2 = options_.beta2, eps = options_.eps;
  const double c1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(t_));
  const double c2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(t_));
  const float step_lr = lr * rule.lr_scale;
  const float inv_c1 = static_cast<float>(1.0 / c1), inv_sqrt_c2 = static_cast<float>(1.0 / std::sqrt(c2));
  float* m = m_[index].data();
  float* v = v_[index].data();
  const float* g = grad.data();
  const float* w = param.data();
  float* s = step.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1.f - b1) * g[i];
    v[i] = b2 * v[i] + (1.f - b2) * g[i] * g[i];
    const float denom = std::sqrt(v[i]) * inv_sqrt_c2 + eps;
    s[i] = step_lr * (m[i] * inv_c1 / denom + wd * w[i]);
  }
}

void AdamW::apply(Tensor& param, const Tensor& step) {
  float* w = param.data();
  const float* s = step.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) w[i] -= s[i];
}

}  // namespace sculpt
