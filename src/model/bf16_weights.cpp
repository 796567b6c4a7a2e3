#include "sculpt/model/bf16_weights.h"

#include "sculpt/core/error.h"
#include "sculpt/linalg/bf16_gemm.h"

namespace sculpt {

Bf16Weights::Bf16Weights(const LlamaModel& model, Backend& backend) : backend_(backend) {
  check(bf16_gemm_available(), "this build of sculpt has no bf16 matrix multiply", "bf16 precision",
        "install libdnnl-dev (scripts/install-deps.sh) and rebuild, or use --precision fp32");
  auto copy_of = [&](const Tensor& w) { return backend_.zeros(w.shape(), DType::bf16); };
  for (int64_t l = 0; l < model.config().num_layers; ++l) {
    const LayerWeights& w = model.layer(l);
    layers_.push_back({copy_of(w.wq), copy_of(w.wk), copy_of(w.wv), copy_of(w.wo), copy_of(w.w_gate),
                       copy_of(w.w_up), copy_of(w.w_down)});
  }
  head_ = copy_of(model.lm_head());
  load(model);
}

void Bf16Weights::load(const LlamaModel& model) {
  auto round = [&](const Tensor& w, Tensor& w16) { backend_.copy(w, w16); };  // to nearest even
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerWeights& w = model.layer(static_cast<int64_t>(l));
    Layer& b = layers_[l];
    round(w.wq, b.wq), round(w.wk, b.wk), round(w.wv, b.wv), round(w.wo, b.wo);
    round(w.w_gate, b.w_gate), round(w.w_up, b.w_up), round(w.w_down, b.w_down);
  }
  round(model.lm_head(), head_);
}

int64_t Bf16Weights::bytes(const ModelConfig& c) {
  const int64_t D = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size;
  const int64_t per_layer = 2 * (Q * D + 2 * KV * D + D * Q + 3 * F * D);
  return c.num_layers * per_layer + 2 * c.vocab_size * D;
}

}  // namespace sculpt
