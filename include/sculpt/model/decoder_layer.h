// One Llama decoder layer's forward: the one forward that training and inference share.
//
//   h1 = rmsnorm(x_in);  q, k, v = h1·Wqᵀ, h1·Wkᵀ, h1·Wvᵀ (+ bias);  rope(q, k)
//   att = attention(q, keys, values);  x_mid = x_in + att·Woᵀ (+ bo)
//   h2 = rmsnorm(x_mid);  act = silu(h2·Wgᵀ) ⊙ h2·Wuᵀ;  x_out = x_mid + act·Wdᵀ (+ bd)
//
// The training graph gives every layer arrays of its own and keeps them for the backward (with
// the norms' inverse RMS and attention's log-sum-exp); the inference forward reuses one set from
// layer to layer (x_in = x_mid = x_out, act = gate) and appends each layer's keys and values to
// its KV cache, which attention then reads.
#pragma once
#include <cstdint>
#include <span>

#include "sculpt/backend/backend.h"
#include "sculpt/model/bf16_weights.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/linear_ops.h"

namespace sculpt {

// The arrays one layer reads and writes; rows = B·T. h1, h2 and act are fp32, or bf16 when the
// training graph keeps them as the bf16 operands of the products they feed (bf16 precision).
struct DecoderLayerArrays {
  Tensor x_in;            // (rows, D) the residual stream entering the layer
  Tensor inv_rms1;        // (rows,) attention norm's 1/rms, or empty: not kept
  Tensor h1;              // (rows, D) attention-norm output
  Tensor q, k, v;         // (rows, Q), (rows, KV), (rows, KV); q and k after RoPE
  Tensor att;             // (rows, Q) attention output before o_proj
  Tensor lse;             // (B, n_heads, T) attention log-sum-exp, or empty: not kept
  Tensor x_mid;           // (rows, D) residual after attention (may be x_in)
  Tensor inv_rms2;        // (rows,) MLP norm's 1/rms, or empty
  Tensor h2;              // (rows, D) MLP-norm output (may be h1)
  Tensor gate, up, act;   // (rows, F) projections and silu(gate) ⊙ up (act may be gate)
  Tensor x_out;           // (rows, D) the residual stream leaving the layer (may be x_mid)
};

// What every layer of one pass shares.
struct DecoderPass {
  Backend& backend;
  LinearOps& linear;
  const RopeTable& rope;
  std::span<const int64_t> positions;  // (rows,) absolute position of each row
  std::span<const int64_t> start;      // (B,) position of each sequence's first new row
  AttentionShape shape;                // kv_capacity: T, or the cache's capacity
  Tensor workspace;                    // (backend.attention_workspace(shape),)
  float eps;                           // RMSNorm epsilon
  // fp32 staging of the norms' and the activation's output when h1, h2, act are bf16:
  // (≥ rows · max(D, F),), else empty.
  Tensor staging = {};
};

// The layer's forward. With a cache (cache_k, cache_v: (B, S, KV) of this layer), the new keys
// and values are written at positions start[b] .. start[b] + T − 1 of each sequence and attention
// reads the cache; without, it reads k and v (S = T).
void decoder_layer_forward(DecoderPass& pass, const LayerWeights& w, const Bf16Weights::Layer& w16,
                           DecoderLayerArrays& a, Tensor* cache_k = nullptr, Tensor* cache_v = nullptr);

}  // namespace sculpt
