#include "sculpt/model/ops/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
void check_shape(const int64_t* start, const AttentionShape& s) {
  check(s.n_kv_heads > 0 && s.n_heads % s.n_kv_heads == 0, "attention: heads do not group evenly", "attention");
  for (int64_t b = 0; b < s.batch; ++b)
    check(start[b] + s.q_len <= s.kv_capacity, "attention: positions exceed the key/value buffer", "attention");
}
}  // namespace

template <typename T>
void attention_forward(const T* q, const T* k, const T* v, T* out, const int64_t* start, const AttentionShape& s,
                       T* scratch, T* lse) {
  check_shape(start, s);
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd;
  const int64_t group = s.n_heads / s.n_kv_heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.n_heads; ++h)
      for (int64_t t = 0; t < s.q_len; ++t) {
        T* scores = scratch + static_cast<int64_t>(omp_get_thread_num()) * s.kv_capacity;
        const int64_t pos = start[b] + t;
        const int64_t first = s.window > 0 ? std::max<int64_t>(0, pos - s.window + 1) : 0;
        const T* qrow = q + (b * s.q_len + t) * qw + h * hd;
        const T* kbase = k + b * s.kv_capacity * kw + (h / group) * hd;
        const T* vbase = v + b * s.kv_capacity * kw + (h / group) * hd;
        T max_score = -INFINITY;
        for (int64_t j = first; j <= pos; ++j) {
          const T* krow = kbase + j * kw;
          T dot = 0;
          for (int64_t i = 0; i < hd; ++i) dot += qrow[i] * krow[i];
          scores[j] = dot * scale;
          max_score = std::max(max_score, scores[j]);
        }
        T denom = 0;
        for (int64_t j = first; j <= pos; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          denom += scores[j];
        }
        if (lse) lse[(b * s.n_heads + h) * s.q_len + t] = max_score + std::log(denom);
        T* orow = out + (b * s.q_len + t) * qw + h * hd;
        std::fill(orow, orow + hd, T(0));
        const T inv = T(1) / denom;
        for (int64_t j = first; j <= pos; ++j) {
          const T p = scores[j] * inv;
          const T* vrow = vbase + j * kw;
          for (int64_t i = 0; i < hd; ++i) orow[i] += p * vrow[i];
        }
      }
}

template <typename T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* lse, const T* dout, T* dq, T* dk,
                        T* dv, const int64_t* start, const AttentionShape& s, T* scratch) {
  check_shape(start, s);
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd;
  const int64_t group = s.n_heads / s.n_kv_heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(hd));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t kvh = 0; kvh < s.n_kv_heads; ++kvh) {
      T* prob = scratch + static_cast<int64_t>(omp_get_thread_num()) * s.kv_capacity;
      const T* kbase = k + b * s.kv_capacity * kw + kvh * hd;
      const T* vbase = v + b * s.kv_capacity * kw + kvh * hd;
      T* dkbase = dk + b * s.kv_capacity * kw + kvh * hd;
      T* dvbase = dv + b * s.kv_capacity * kw + kvh * hd;
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h)
        for (int64_t t = 0; t < s.q_len; ++t) {
          const int64_t pos = start[b] + t;
          const int64_t first = s.window > 0 ? std::max<int64_t>(0, pos - s.window + 1) : 0;
          const T* qrow = q + (b * s.q_len + t) * qw + h * hd;
          const T* orow = out + (b * s.q_len + t) * qw + h * hd;
          const T* dorow = dout + (b * s.q_len + t) * qw + h * hd;
          T* dqrow = dq + (b * s.q_len + t) * qw + h * hd;
          const T row_lse = lse[(b * s.n_heads + h) * s.q_len + t];
          T delta = 0;  // do·o = Σ_j P_ij dP_ij
          for (int64_t i = 0; i < hd; ++i) delta += dorow[i] * orow[i];
          for (int64_t j = first; j <= pos; ++j) {
            const T* krow = kbase + j * kw;
            T dot = 0;
            for (int64_t i = 0; i < hd; ++i) dot += qrow[i] * krow[i];
            prob[j] = std::exp(dot * scale - row_lse);
          }
          for (int64_t j = first; j <= pos; ++j) {
            const T* vrow = vbase + j * kw;
            T* dvrow = dvbase + j * kw;
            T dp = 0;
            for (int64_t i = 0; i < hd; ++i) {
              dp += dorow[i] * vrow[i];
              dvrow[i] += prob[j] * dorow[i];
            }
            const T ds = prob[j] * (dp - delta) * scale;
            const T* krow = kbase + j * kw;
            T* dkrow = dkbase + j * kw;
            for (int64_t i = 0; i < hd; ++i) {
              dqrow[i] += ds * krow[i];
              dkrow[i] += ds * qrow[i];
            }
          }
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
