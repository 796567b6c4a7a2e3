// Token sampling and batched incremental generation with the KV cache.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "sculpt/core/rng.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"

namespace sculpt {

struct SamplingOptions {
  float temperature = 0.f;  // 0: greedy (argmax, lowest id on ties)
  float top_p = 1.f;        // nucleus: keep the smallest set of tokens with mass >= top_p
};

// Picks a token from one row of logits (vocab,).
int32_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& options, Rng& rng);

struct GenerationOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  std::vector<int32_t> stop_tokens;  // generation of a sequence ends after emitting one of these
  uint64_t seed = 0;
  Precision precision = Precision::fp32;  // of the forward's products (model/precision.h)
};

// Generates continuations of every prompt at once (prompts may differ in length). Returns the
// new tokens of each prompt (stop token included when hit). `on_token(b, id)` streams them.
std::vector<std::vector<int32_t>> generate(const LlamaModel& model, const std::vector<std::vector<int32_t>>& prompts,
                                           const GenerationOptions& options,
                                           const std::function<void(int64_t, int32_t)>& on_token = nullptr);

// Floats generate() holds at its peak for `batch` prompts of up to `longest_prompt` tokens and
// `max_new_tokens`: the forward's workspace (and bf16 weight copies), the KV cache, and three
// (batch, V) logits (a step's, the one it replaces, the host copy sampled from).
int64_t generation_floats(const ModelConfig& config, int64_t batch, int64_t longest_prompt, int64_t max_new_tokens,
                          Precision precision, int threads);

}  // namespace sculpt
