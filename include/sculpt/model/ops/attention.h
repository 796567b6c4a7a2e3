// Causal grouped-query attention over a key/value buffer.
//
// Query row t of sequence b sits at absolute position p = start[b] + t and attends to the keys at
// positions [max(0, p − window + 1), p] of the same sequence (window 0: no limit). Query head h
// reads key/value head h / (n_heads / n_kv_heads). Scores are scaled by 1/sqrt(head_dim).
#pragma once
#include <cstdint>

namespace sculpt {

struct AttentionShape {
  int64_t batch = 0;       // B
  int64_t q_len = 0;       // T: query rows per sequence
  int64_t kv_capacity = 0; // S: key rows stored per sequence in the buffers
  int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t window = 0;      // sliding window, 0 = none
};

// q: (B, T, n_heads*hd); k, v: (B, S, n_kv*hd); out: (B, T, n_heads*hd); start: (B,).
// `scratch` holds at least num_threads * S floats.
void attention_forward(const float* q, const float* k, const float* v, float* out, const int64_t* start,
                       const AttentionShape& shape, float* scratch);

}  // namespace sculpt
