// The rotary embedding's per-pair inverse frequencies of a model: inv_freq_i = theta^(-2i/d),
// rescaled as in Llama 3 (rope_scaling type "llama3") or linearly. The RoPE kernel
// (backend/cpu/rope.h) takes them as numbers and knows nothing of configs.
#pragma once
#include <vector>

#include "sculpt/io/model_config.h"

namespace sculpt {

// (head_dim / 2,) in double.
std::vector<double> rope_inverse_frequencies(const ModelConfig& config);

}  // namespace sculpt
