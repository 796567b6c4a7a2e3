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

// One element of the step; compute_step and update share it so that they give the same bits.
static inline float adamw_element(const float g, float& m, float& v, const float w, const float b1, const float b2,
                                  const float eps, const float wd, const float lr, const float inv_c1,
                                  const float inv_sqrt_c2) {
  m = b1 * m + (1.f - b1) * g;
  v = b2 * v + (1.f - b2) * g * g;
  const float denom = std::sqrt(v) * inv_sqrt_c2 + eps;
  return lr * (m * inv_c1 / denom + wd * w);
}

void AdamW::compute_step(size_t index, const Tensor& param, const Tensor& grad, float lr, Tensor& step) {
  const ParamGroupRule& rule = rules_.at(index);
  const StepScalars k = scalars(rule, lr);
  if (!rule.trainable) {
    step.fill(0.f);
    return;
  }
  float* m = m_[index].data();
  float* v = v_[index].data();
  const float* g = grad.data();
  const float* w = param.data();
  float* s = step.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i)
    s[i] = adamw_element(g[i], m[i], v[i], w[i], k.b1, k.b2, k.eps, k.wd, k.lr, k.inv_c1, k.inv_sqrt_c2);
}

void AdamW::update(size_t index, Tensor& param, const Tensor& grad, float lr, float grad_scale) {
  const ParamGroupRule& rule = rules_.at(index);
  const StepScalars k = scalars(rule, lr);
  if (!rule.trainable) return;
  float* m = m_[index].data();
  float* v = v_[index].data();
  const float* g = grad.data();
  float* w = param.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i)
    w[i] -= adamw_element(g[i] * grad_scale, m[i], v[i], w[i], k.b1, k.b2, k.eps, k.wd, k.lr, k.inv_c1,
                          k.inv_sqrt_c2);
}

void AdamW::apply(Tensor& param, const Tensor& step) {
  float* w = param.data();
  const float* s = step.data();
  const int64_t n = param.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) w[i] -= s[i];
}

}  // namespace sculpt
