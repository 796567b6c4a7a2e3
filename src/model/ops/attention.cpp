#include "sculpt/model/ops/attention.h"
#include "sculpt/model/ops/vexp.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"
#include "sculpt/core/simd_clones.h"
#include "sculpt/linalg/blas.h"

namespace sculpt {

namespace {
void check_shape(const int64_t* start, const AttentionShape& s) {
  if (s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0)
    throw Error("attention: heads do not group evenly", "attention");
  for (int64_t b = 0; b < s.batch; ++b)
    if (start[b] + s.q_len > s.kv_capacity) throw Error("attention: positions exceed the key/value buffer", "attention");
}

// Visible keys of query row at absolute position pos: [first, pos].
int64_t first_key(int64_t pos, int64_t window) { return window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0; }

// The per-row elementwise work, compiled for AVX2 + FMA where the CPU has it (core/simd_clones.h).

// row (keys,): scores → probabilities over the visible keys [first, pos], zero elsewhere.
// Returns the row's log-sum-exp.
template <typename T>
SCULPT_SIMD_CLONES T softmax_visible(T* row, int64_t first, int64_t pos, int64_t keys) {
  T max_score = -INFINITY;
#pragma omp simd reduction(max : max_score)
  for (int64_t j = first; j <= pos; ++j) max_score = std::max(max_score, row[j]);
  T denom = 0;
#pragma omp simd reduction(+ : denom)
  for (int64_t j = first; j <= pos; ++j) denom += row[j] = vexp(row[j] - max_score);
  const T inv = T(1) / denom;
  for (int64_t j = 0; j < first; ++j) row[j] = 0;
#pragma omp simd
  for (int64_t j = first; j <= pos; ++j) row[j] *= inv;
  for (int64_t j = pos + 1; j < keys; ++j) row[j] = 0;
  return max_score + std::log(denom);
}

// row (keys,): scores → probabilities recomputed from the saved log-sum-exp.
template <typename T>
SCULPT_SIMD_CLONES void probabilities_from_lse(T* row, int64_t first, int64_t pos, int64_t keys, T row_lse) {
#pragma omp simd
  for (int64_t j = 0; j < keys; ++j) row[j] = (j >= first && j <= pos) ? vexp(row[j] - row_lse) : T(0);
}

// dS = P ∘ (dP − Σ dO∘O) · scale for one row, written over dp (keys,); o, d: (hd,).
template <typename T>
SCULPT_SIMD_CLONES void softmax_backward_row(const T* p, T* dp, const T* o, const T* d, int64_t keys, int64_t hd,
                                             T scale) {
  T delta = 0;
  for (int64_t i = 0; i < hd; ++i) delta += d[i] * o[i];
#pragma omp simd
  for (int64_t j = 0; j < keys; ++j) dp[j] = p[j] * (dp[j] - delta) * scale;
}
}  // namespace

int64_t attention_scratch_size(const AttentionShape& s, int threads) {
  // Scores and their gradient for one query block against every key.
  return static_cast<int64_t>(threads) * 2 * std::min(kAttentionQueryBlock, std::max<int64_t>(s.q_len, 1)) *
         s.kv_capacity;
}

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, const int64_t* start, const AttentionShape& s,
                       T* scratch, T* lse) {
  check_shape(start, s);
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd;
  const int64_t group = s.n_heads / s.n_kv_heads, block = std::min(kAttentionQueryBlock, s.q_len);
  const int64_t blocks = (s.q_len + block - 1) / block;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  const int64_t scratch_per_thread = 2 * block * s.kv_capacity;
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.n_heads; ++h)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        T* scores = scratch + static_cast<int64_t>(omp_get_thread_num()) * scratch_per_thread;
        const int64_t t0 = blk * block, rows = std::min(block, s.q_len - t0);
        const int64_t keys = start[b] + t0 + rows;  // keys the last row of the block can see
        const T* qblk = q + (b * s.q_len + t0) * qw + h * hd;
        const T* kh = k + b * s.kv_capacity * kw + (h / group) * hd;
        const T* vh = v + b * s.kv_capacity * kw + (h / group) * hd;
        // scores (rows × keys) = scale · Q Kᵀ
        gemm(Trans::no, Trans::yes, rows, keys, hd, scale, qblk, qw, kh, kw, T(0), scores, keys);
        for (int64_t r = 0; r < rows; ++r) {
          T* row = scores + r * keys;
          const int64_t pos = start[b] + t0 + r;
          const T row_lse = softmax_visible(row, first_key(pos, s.window), pos, keys);
          if (lse) lse[(b * s.n_heads + h) * s.q_len + t0 + r] = row_lse;
        }
        // out (rows × hd) = P V
        gemm(Trans::no, Trans::no, rows, hd, keys, T(1), scores, keys, vh, kw, T(0),
             out + (b * s.q_len + t0) * qw + h * hd, qw);
      }
}

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                        T* dv, const int64_t* start, const AttentionShape& s, T* scratch) {
  check_shape(start, s);
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd;
  const int64_t group = s.n_heads / s.n_kv_heads, block = std::min(kAttentionQueryBlock, s.q_len);
  const int64_t blocks = (s.q_len + block - 1) / block;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  const int64_t scratch_per_thread = 2 * block * s.kv_capacity;
  // One task per (sequence, kv head): it owns that head's dk/dv rows, so there are no races.
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
      T* prob = scratch + static_cast<int64_t>(omp_get_thread_num()) * scratch_per_thread;
      T* dprob = prob + block * s.kv_capacity;
      const T* kh = k + b * s.kv_capacity * kw + kvh * hd;
      const T* vh = v + b * s.kv_capacity * kw + kvh * hd;
      T* dkh = dk + b * s.kv_capacity * kw + kvh * hd;
      T* dvh = dv + b * s.kv_capacity * kw + kvh * hd;
      // This task's dk/dv rows start from zero here, while they are about to be in cache.
      for (int64_t j = 0; j < s.kv_capacity; ++j) {
        std::fill(dkh + j * kw, dkh + j * kw + hd, T(0));
        std::fill(dvh + j * kw, dvh + j * kw + hd, T(0));
      }
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h)
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t t0 = blk * block, rows = std::min(block, s.q_len - t0);
          const int64_t keys = start[b] + t0 + rows;
          const int64_t off = (b * s.q_len + t0) * qw + h * hd;
          // P from the saved log-sum-exp.
          gemm(Trans::no, Trans::yes, rows, keys, hd, scale, q + off, qw, kh, kw, T(0), prob, keys);
          for (int64_t r = 0; r < rows; ++r) {
            T* row = prob + r * keys;
            const int64_t pos = start[b] + t0 + r;
            probabilities_from_lse(row, first_key(pos, s.window), pos, keys, lse[(b * s.n_heads + h) * s.q_len + t0 + r]);
          }
          // dV += Pᵀ dO;  dP = dO Vᵀ
          gemm(Trans::yes, Trans::no, keys, hd, rows, T(1), prob, keys, dout + off, qw, T(1), dvh, kw);
          gemm(Trans::no, Trans::yes, rows, keys, hd, T(1), dout + off, qw, vh, kw, T(0), dprob, keys);
          // dS = P ∘ (dP − rowsum(dO ∘ O)) · scale, written over dP.
          for (int64_t r = 0; r < rows; ++r)
            softmax_backward_row(prob + r * keys, dprob + r * keys, out + off + r * qw, dout + off + r * qw, keys, hd,
                                 scale);
          // dQ = dS K (each query block of each head is written once);  dK += dSᵀ Q
          gemm(Trans::no, Trans::no, rows, hd, keys, T(1), dprob, keys, kh, kw, T(0), dq + off, qw);
          gemm(Trans::yes, Trans::no, keys, hd, rows, T(1), dprob, keys, q + off, qw, T(1), dkh, kw);
        }
    }
}

template void attention_forward<float>(const float*, const float*, const float*, float*, const int64_t*,
                                       const AttentionShape&, float*, float*);
template void attention_forward<double>(const double*, const double*, const double*, double*, const int64_t*,
                                        const AttentionShape&, double*, double*);
template void attention_backward<float>(const float*, const float*, const float*, const float*, const float*,
                                        const float*, float*, float*, float*, const int64_t*, const AttentionShape&,
                                        float*);
template void attention_backward<double>(const double*, const double*, const double*, const double*, const double*,
                                         const double*, double*, double*, double*, const int64_t*,
                                         const AttentionShape&, double*);

}  // namespace sculpt
