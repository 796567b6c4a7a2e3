// Causal grouped-query attention over a key/value buffer.
//
// Query row t of sequence b sits at absolute position p = start[b] + t and attends to the keys at
// positions [max(0, p − window + 1), p] of the same sequence (window 0: no limit). Query head h
// reads key/value head h / (n_heads / n_kv_heads). Scores are scaled by 1/sqrt(head_dim).
#pragma once
#include <cstdint>

#include "sculpt/backend/attention_shape.h"

namespace sculpt {

// Work is split into one task per (sequence, kv head); each task transposes its keys (and, in the
// backward, values) once, then takes its query heads in blocks of kAttentionQueryBlock rows, each
// block's scores a small_gemm against the keys it can see, the causal triangle skipped. A forward
// of fewer than 8 queries per sequence (decoding) reads the keys as stored, through OpenBLAS.
constexpr int64_t kAttentionQueryBlock = 64;
// Scratch values attention_forward / attention_backward need for `threads` threads.
int64_t attention_scratch_size(const AttentionShape& shape, int threads);

// q: (B, T, n_heads*hd); k, v: (B, S, n_kv*hd); out: (B, T, n_heads*hd); start: (B,).
// `scratch` holds attention_scratch_size() values. lse (B, n_heads, T), when non-null, receives
// each row's log-sum-exp of scaled scores, so the backward can rebuild the probabilities.
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, const int64_t* start, const AttentionShape& shape,
                       T* scratch, T* lse = nullptr);

// Backward from the saved lse (no stored probability matrix). With P = softmax(s), s = q·kᵀ/√d:
//   dv_j = Σ_i P_ij do_i;   dP_ij = do_i·v_j;   ds_ij = P_ij (dP_ij − do_i·o_i);
//   dq_i = Σ_j ds_ij k_j / √d;   dk_j = Σ_i ds_ij q_i / √d.
// Work is split by (sequence, kv head), so every gradient row has one writer: deterministic.
// dq, dk, dv are written, not accumulated: every row of them, key slots no query sees included
// (those get zero), so callers need no zero-fill. `scratch` holds attention_scratch_size() values.
template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                        T* dv, const int64_t* start, const AttentionShape& shape, T* scratch);

}  // namespace sculpt
