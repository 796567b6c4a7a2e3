// The Llama forward pass over a batch of right-padded sequences, with or without a KV cache.
//
//   x = embed[tokens]                                     (B·T, D)
//   per layer:  h = rmsnorm(x);  q,k,v = h·Wqᵀ, h·Wkᵀ, h·Wvᵀ (+bias);  rope(q, k)
//               x += attention(q, k, v)·Woᵀ
//               h = rmsnorm(x);  x += (silu(h·Wgᵀ) ⊙ h·Wuᵀ)·Wdᵀ
//   logits = rmsnorm(x)·Headᵀ                             (rows, V)
//
// Padding needs no mask: sequences are right-padded and attention is causal, so a real token
// never sees a pad; rows at pad positions produce logits nobody reads.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/core/arena.h"
#include "sculpt/core/tensor.h"
#include "sculpt/model/bf16_weights.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"
#include "sculpt/model/linear_ops.h"

namespace sculpt {

// Keys and values of every layer for `batch` sequences of up to `capacity` positions.
struct KVCache {
  KVCache(const ModelConfig& config, int64_t batch, int64_t capacity);
  int64_t batch = 0, capacity = 0;
  std::vector<Tensor> k, v;     // per layer: (B, S, n_kv*hd), post-RoPE keys
  std::vector<int64_t> length;  // (B,) positions filled per sequence
};

// Float counts of the forward workspace, a pure function of the config, batch shape and precision.
struct ForwardMemoryPlan {
  int64_t activations = 0;    // residual stream, projections, MLP
  int64_t scratch = 0;        // per-thread attention scores; bf16: the products' rounded inputs
  int64_t logits = 0;         // returned to the caller, not part of the arena
  int64_t weight_copies = 0;  // bf16: the weights' bf16 copies (floats' room), beside the arena
  int64_t total() const { return activations + scratch + logits + weight_copies; }
  static ForwardMemoryPlan make(const ModelConfig& config, int64_t batch, int64_t tokens, int64_t kv_capacity,
                                int threads, Precision precision = Precision::fp32);
  std::string describe() const;  // "activations 1.2 MiB, ..."
};

class LlamaForward {
 public:
  // Workspace for up to `max_batch` sequences of up to `max_tokens` new tokens per call, and
  // positions up to `max_positions` (the KV capacity).
  // bf16 precision rounds the weights into bf16 copies here, once (the model must not change while
  // this forward lives) and runs every projection and the head with bf16 operands.
  LlamaForward(const LlamaModel& model, int64_t max_batch, int64_t max_tokens, int64_t max_positions,
               Precision precision = Precision::fp32, Backend& backend = cpu_backend());

  // Logits of every position: tokens (B·T) → (B, T, V). No cache.
  Tensor logits_all(const std::vector<int32_t>& tokens, int64_t batch, int64_t seq);

  // Feeds T new tokens per sequence (right-padded, `lengths[b]` real ones) at positions
  // cache.length[b] + t, stores their keys/values, advances cache.length by `lengths`, and
  // returns the logits of each sequence's last real token: (B, V).
  Tensor step(const std::vector<int32_t>& tokens, int64_t batch, int64_t seq, const std::vector<int64_t>& lengths,
              KVCache& cache);

  const ForwardMemoryPlan& plan() const { return plan_; }
  Backend& backend() const { return backend_; }  // where the logits live

 private:
  // Runs the layers; leaves the final hidden states in hidden_ (B·T, D).
  void run_layers(const std::vector<int32_t>& tokens, int64_t batch, int64_t seq, const int64_t* start,
                  KVCache* cache);
  // logits (rows, V) of hidden rows `rows`.
  Tensor head(const std::vector<int64_t>& rows);

  const LlamaModel& model_;
  int64_t max_batch_, max_tokens_, max_positions_;
  Backend& backend_;
  LinearOps linear_;     // the products, in the forward's precision
  RopeTable rope_;
  ForwardMemoryPlan plan_;
  std::optional<Bf16Weights> bf16_;  // bf16 only
  Arena arena_;
  Tensor hidden_;  // (B·T, D) output of run_layers
};

}  // namespace sculpt
