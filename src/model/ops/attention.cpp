#include "sculpt/model/ops/attention.h"

#include <omp.h>

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"

namespace sculpt {

void attention_forward(const float* q, const float* k, const float* v, float* out, const int64_t* start,
                       const AttentionShape& s, float* scratch) {
  const int64_t hd = s.head_dim, qw = s.n_heads * hd, kw = s.n_kv_heads * hd;
  const int64_t group = s.n_heads / s.n_kv_heads;
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  for (int64_t b = 0; b < s.batch; ++b)
    check(start[b] + s.q_len <= s.kv_capacity, "attention: positions exceed the key/value buffer", "attention");
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t b = 0; b < s.batch; ++b)
    for (int64_t h = 0; h < s.n_heads; ++h)
      for (int64_t t = 0; t < s.q_len; ++t) {
        float* scores = scratch + static_cast<int64_t>(omp_get_thread_num()) * s.kv_capacity;
        const int64_t pos = start[b] + t;
        const int64_t first = s.window > 0 ? std::max<int64_t>(0, pos - s.window + 1) : 0;
        const float* qrow = q + (b * s.q_len + t) * qw + h * hd;
        const float* kbase = k + b * s.kv_capacity * kw + (h / group) * hd;
        const float* vbase = v + b * s.kv_capacity * kw + (h / group) * hd;
        float max_score = -INFINITY;
        for (int64_t j = first; j <= pos; ++j) {
          const float* krow = kbase + j * kw;
          float dot = 0.f;
          for (int64_t i = 0; i < hd; ++i) dot += qrow[i] * krow[i];
          scores[j] = dot * scale;
          max_score = std::max(max_score, scores[j]);
        }
        float denom = 0.f;
        for (int64_t j = first; j <= pos; ++j) {
          scores[j] = std::exp(scores[j] - max_score);
          denom += scores[j];
        }
        float* orow = out + (b * s.q_len + t) * qw + h * hd;
        std::fill(orow, orow + hd, 0.f);
        const float inv = 1.f / denom;
        for (int64_t j = first; j <= pos; ++j) {
          const float p = scores[j] * inv;
          const float* vrow = vbase + j * kw;
          for (int64_t i = 0; i < hd; ++i) orow[i] += p * vrow[i];
        }
      }
}

}  // namespace sculpt
