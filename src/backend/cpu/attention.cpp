#include "sculpt/backend/cpu/attention.h"
#include "sculpt/backend/cpu/vexp.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"
#include "sculpt/core/simd_clones.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/linalg/small_gemm.h"

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
#pragma omp simd reduction(max : max_score)  // a comparison, which GCC vectorises (std::max it does not)
  for (int64_t j = first; j <= pos; ++j) max_score = row[j] > max_score ? row[j] : max_score;
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

// row (keys,): probabilities recomputed from the saved log-sum-exp over the visible keys
// [first, pos] (scores there), zero elsewhere (whatever the row held).
template <typename T>
SCULPT_SIMD_CLONES void probabilities_from_lse(T* row, int64_t first, int64_t pos, int64_t keys, T row_lse) {
  for (int64_t j = 0; j < first; ++j) row[j] = 0;
#pragma omp simd
  for (int64_t j = first; j <= pos; ++j) row[j] = vexp(row[j] - row_lse);
  for (int64_t j = pos + 1; j < keys; ++j) row[j] = 0;
}

// dS = P ∘ (dP − Σ dO∘O) · scale for one row over the visible keys [first, pos], zero elsewhere,
// written over dp (keys,); o, d: (hd,).
template <typename T>
SCULPT_SIMD_CLONES void softmax_backward_row(const T* p, T* dp, const T* o, const T* d, int64_t first, int64_t pos,
                                             int64_t keys, int64_t hd, T scale) {
  T delta = 0;
  for (int64_t i = 0; i < hd; ++i) delta += d[i] * o[i];
  for (int64_t j = 0; j < first; ++j) dp[j] = 0;
#pragma omp simd
  for (int64_t j = first; j <= pos; ++j) dp[j] = p[j] * (dp[j] - delta) * scale;
  for (int64_t j = pos + 1; j < keys; ++j) dp[j] = 0;
}

// kt (hd × keys, row stride keys) = the first `keys` rows of one head's k (row stride kw), so that
// the score products read keys along a contiguous row (small_gemm's B).
template <typename T>
void transpose_head(const T* k, int64_t kw, int64_t keys, int64_t hd, T* kt) {
  for (int64_t j = 0; j < keys; ++j)
    for (int64_t d = 0; d < hd; ++d) kt[d * keys + j] = k[j * kw + d];
}
}  // namespace

int64_t attention_scratch_size(const AttentionShape& s, int threads) {
  // Per thread: scores and their gradient for one query block against every key slot, and the
  // transposed keys and values of one head.
  const int64_t block = std::min(kAttentionQueryBlock, std::max<int64_t>(s.q_len, 1));
  return static_cast<int64_t>(threads) * 2 * (block + s.head_dim) * s.kv_capacity;
}

// Decoding (a query or a few per sequence): transposing a head's keys would cost as much as the
// scores themselves, so each (sequence, head) takes two OpenBLAS calls against the keys as stored.
constexpr int64_t kFewQueries = 8;

template <typename T>
void attention_forward_few_queries(const T* q, const T* k, const T* v, T* out, const int64_t* start,
                                   const AttentionShape& s, T* scratch, T* lse) {
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd, group = s.n_heads / s.n_kv_heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  const int64_t scratch_per_thread = 2 * (s.q_len + hd) * s.kv_capacity;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.n_heads; ++h) {
      T* scores = scratch + static_cast<int64_t>(omp_get_thread_num()) * scratch_per_thread;  // (T, keys)
      const int64_t keys = start[b] + s.q_len, off = b * s.q_len * qw + h * hd;
      const T* kh = k + b * s.kv_capacity * kw + (h / group) * hd;
      const T* vh = v + b * s.kv_capacity * kw + (h / group) * hd;
      gemm(Trans::no, Trans::yes, s.q_len, keys, hd, scale, q + off, qw, kh, kw, T(0), scores, keys);
      for (int64_t r = 0; r < s.q_len; ++r) {
        const int64_t pos = start[b] + r;
        const T row_lse = softmax_visible(scores + r * keys, first_key(pos, s.window), pos, keys);
        if (lse) lse[(b * s.n_heads + h) * s.q_len + r] = row_lse;
      }
      gemm(Trans::no, Trans::no, s.q_len, hd, keys, T(1), scores, keys, vh, kw, T(0), out + off, qw);
    }
}

// The products run through small_gemm (linalg/small_gemm.h) with the causal limits declared:
// for query block rows at positions start + t0 + i, scores need keys j ≤ i + (start + t0), and
// P(i, j) = 0 beyond that, so the triangle above the diagonal is neither computed nor summed.
template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, const int64_t* start, const AttentionShape& s,
                       T* scratch, T* lse) {
  check_shape(start, s);
  if (s.q_len < kFewQueries) return attention_forward_few_queries(q, k, v, out, start, s, scratch, lse);
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd;
  const int64_t group = s.n_heads / s.n_kv_heads, block = std::min(kAttentionQueryBlock, s.q_len);
  const int64_t blocks = (s.q_len + block - 1) / block;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
  const int64_t scratch_per_thread = 2 * (block + hd) * s.kv_capacity;
  // One task per (sequence, kv head), so that its keys are transposed once for the heads sharing them.
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
      T* scores = scratch + static_cast<int64_t>(omp_get_thread_num()) * scratch_per_thread;  // (block, S)
      T* kt = scores + 2 * block * s.kv_capacity;                                              // (hd, keys_all)
      const int64_t keys_all = start[b] + s.q_len;  // keys the last query can see
      const T* kh = k + b * s.kv_capacity * kw + kvh * hd;
      const T* vh = v + b * s.kv_capacity * kw + kvh * hd;
      transpose_head(kh, kw, keys_all, hd, kt);
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h)
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t t0 = blk * block, rows = std::min(block, s.q_len - t0);
          const int64_t diag = start[b] + t0;  // position of the block's first query
          const int64_t keys = diag + rows;    // keys the block's last query can see
          const int64_t off = (b * s.q_len + t0) * qw + h * hd;
          // scores (rows × keys) = scale · Q Kᵀ
          small_gemm(rows, keys, hd, scale, q + off, qw, 1, kt, keys_all, scores, keys, false, {.n_end = diag});
          for (int64_t r = 0; r < rows; ++r) {
            const T row_lse = softmax_visible(scores + r * keys, first_key(diag + r, s.window), diag + r, keys);
            if (lse) lse[(b * s.n_heads + h) * s.q_len + t0 + r] = row_lse;
          }
          // out (rows × hd) = P V
          small_gemm(rows, hd, keys, T(1), scores, keys, 1, vh, kw, out + off, qw, false, {.k_end = diag});
        }
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
  const int64_t scratch_per_thread = 2 * (block + hd) * s.kv_capacity;
  // One task per (sequence, kv head): it owns that head's dk/dv rows, so there are no races.
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
      T* prob = scratch + static_cast<int64_t>(omp_get_thread_num()) * scratch_per_thread;  // (block, S)
      T* dprob = prob + block * s.kv_capacity;                                               // (block, S)
      T* kt = dprob + block * s.kv_capacity;                                                 // (hd, keys_all)
      T* vt = kt + hd * s.kv_capacity;                                                       // (hd, keys_all)
      const int64_t keys_all = start[b] + s.q_len;
      const T* kh = k + b * s.kv_capacity * kw + kvh * hd;
      const T* vh = v + b * s.kv_capacity * kw + kvh * hd;
      T* dkh = dk + b * s.kv_capacity * kw + kvh * hd;
      T* dvh = dv + b * s.kv_capacity * kw + kvh * hd;
      transpose_head(kh, kw, keys_all, hd, kt);
      transpose_head(vh, kw, keys_all, hd, vt);
      // This task's dk/dv rows start from zero here, while they are about to be in cache.
      for (int64_t j = 0; j < s.kv_capacity; ++j) {
        std::fill(dkh + j * kw, dkh + j * kw + hd, T(0));
        std::fill(dvh + j * kw, dvh + j * kw + hd, T(0));
      }
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h)
        for (int64_t blk = 0; blk < blocks; ++blk) {
          const int64_t t0 = blk * block, rows = std::min(block, s.q_len - t0);
          const int64_t diag = start[b] + t0, keys = diag + rows;
          const int64_t off = (b * s.q_len + t0) * qw + h * hd;
          // P (rows × keys) from the saved log-sum-exp.
          small_gemm(rows, keys, hd, scale, q + off, qw, 1, kt, keys_all, prob, keys, false, {.n_end = diag});
          for (int64_t r = 0; r < rows; ++r)
            probabilities_from_lse(prob + r * keys, first_key(diag + r, s.window), diag + r, keys,
                                   lse[(b * s.n_heads + h) * s.q_len + t0 + r]);
          // dV (keys × hd) += Pᵀ dO: key j gets nothing from queries before position j.
          small_gemm(keys, hd, rows, T(1), prob, 1, keys, dout + off, qw, dvh, kw, true, {.k_begin = diag});
          // dP (rows × keys) = dO Vᵀ
          small_gemm(rows, keys, hd, T(1), dout + off, qw, 1, vt, keys_all, dprob, keys, false, {.n_end = diag});
          // dS = P ∘ (dP − rowsum(dO ∘ O)) · scale, written over dP.
          for (int64_t r = 0; r < rows; ++r)
            softmax_backward_row(prob + r * keys, dprob + r * keys, out + off + r * qw, dout + off + r * qw,
                                 first_key(diag + r, s.window), diag + r, keys, hd, scale);
          // dQ = dS K (each query block of each head is written once);  dK += dSᵀ Q
          small_gemm(rows, hd, keys, T(1), dprob, keys, 1, kh, kw, dq + off, qw, false, {.k_end = diag});
          small_gemm(keys, hd, rows, T(1), dprob, 1, keys, q + off, qw, dkh, kw, true, {.k_begin = diag});
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
