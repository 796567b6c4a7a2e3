// llama2.c checkpoints (Karpathy's run.c formats): the legacy headerless v0 file and the v1
// fp32 export with the "ak42" magic. Weights come back under Hugging Face names and in HF's
// rotary layout: llama2.c rotates interleaved pairs (2i, 2i+1) while HF rotates halves
// (i, i + head_dim/2), so the rows of q_proj and k_proj are permuted per head on load.
#pragma once
#include <map>
#include <string>

#include "sculpt/core/tensor.h"
#include "sculpt/io/model_config.h"

namespace sculpt {

struct Llama2cCheckpoint {
  ModelConfig config;
  std::map<std::string, Tensor> tensors;  // HF names, e.g. "model.layers.0.self_attn.q_proj.weight"
  int version = 0;
};

Llama2cCheckpoint read_llama2c(const std::string& path);

// Row permutation from llama2.c's interleaved rotary layout to HF's half-split layout:
// HF row (h, half, i) = llama2.c row (h, 2i + half). weight: (n_heads * head_dim, in).
Tensor permute_rotary_rows_to_hf(const Tensor& weight, int64_t n_heads, int64_t head_dim);

}  // namespace sculpt
