// bf16 precision's weight operands (model/precision.h): a bf16 copy of every matrix the model
// multiplies by — each layer's seven projections and the head — rounded from the fp32 masters by
// load(), which the owner calls whenever the masters have changed (the training step does, once
// per optimizer step). Shared by the training graph and the inference forward.
#pragma once
#include <cstdint>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/model/llama.h"

namespace sculpt {

class Bf16Weights {
 public:
  struct Layer {
    Tensor wq, wk, wv, wo, w_gate, w_up, w_down;  // bf16, (out, in) as the fp32 weights
  };
  // Allocates the copies on `backend` (the masters' device) and loads them.
  explicit Bf16Weights(const LlamaModel& model, Backend& backend = cpu_backend());
  // Rounds every fp32 master into its copy (round to nearest even).
  void load(const LlamaModel& model);
  const Layer& layer(int64_t l) const { return layers_[static_cast<size_t>(l)]; }
  const Tensor& head() const { return head_; }  // (V, D) bf16
  // Bytes the copies take for a model of this config (the memory plans' line).
  static int64_t bytes(const ModelConfig& config);

 private:
  Backend& backend_;
  std::vector<Layer> layers_;
  Tensor head_;
};

}  // namespace sculpt
