#include "sculpt/model/forward.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "sculpt/backend/cpu/attention.h"
#include "sculpt/backend/cpu/rmsnorm.h"
#include "sculpt/backend/cpu/swiglu.h"
#include "sculpt/core/error.h"
#include "sculpt/linalg/bf16_gemm.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/model/rope_frequencies.h"

namespace sculpt {

KVCache::KVCache(const ModelConfig& config, int64_t batch_, int64_t capacity_)
    : batch(batch_), capacity(capacity_), length(static_cast<size_t>(batch_), 0) {
  for (int64_t l = 0; l < config.num_layers; ++l) {
    k.push_back(Tensor::zeros({batch, capacity, config.kv_dim()}));
    v.push_back(Tensor::zeros({batch, capacity, config.kv_dim()}));
  }
}

ForwardMemoryPlan ForwardMemoryPlan::make(const ModelConfig& c, int64_t batch, int64_t tokens, int64_t kv_capacity,
                                          int threads, Precision precision) {
  const int64_t rows = batch * tokens;
  ForwardMemoryPlan p;
  // x, h, final, head input (D); q, attention out (Q); k, v (KV); gate, up (F).
  for (const Shape& s : {Shape{rows, c.hidden_size}, Shape{rows, c.hidden_size}, Shape{rows, c.hidden_size},
                         Shape{rows, c.hidden_size},
                         Shape{rows, c.q_dim()}, Shape{rows, c.q_dim()}, Shape{rows, c.kv_dim()},
                         Shape{rows, c.kv_dim()}, Shape{rows, c.intermediate_size}, Shape{rows, c.intermediate_size}})
    p.activations += Arena::footprint(s);
  p.scratch = Arena::footprint(
      {attention_scratch_size({batch, tokens, kv_capacity, c.num_heads, c.num_kv_heads, c.head_dim, 0}, threads)});
  p.logits = Arena::footprint({rows, c.vocab_size});
  if (precision == Precision::bf16) {
    // One product's rounded input (rows × its widest input) and the head's rounded rows.
    const int64_t widest = std::max({c.hidden_size, c.q_dim(), c.intermediate_size});
    p.scratch += Arena::footprint({(rows * widest + 1) / 2}) + Arena::footprint({(rows * c.hidden_size + 1) / 2});
    p.weight_copies = (Bf16Weights::bytes(c) + 3) / 4;
  }
  return p;
}

std::string ForwardMemoryPlan::describe() const {
  auto mib = [](int64_t floats) { return static_cast<double>(floats) * 4.0 / (1 << 20); };
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(2);
  out << "activations " << mib(activations) << " MiB, attention scratch " << mib(scratch) << " MiB, logits "
      << mib(logits) << " MiB";
  if (weight_copies > 0) out << ", bf16 weight copies " << mib(weight_copies) << " MiB";
  return out.str();
}

LlamaForward::LlamaForward(const LlamaModel& model, int64_t max_batch, int64_t max_tokens, int64_t max_positions,
                           Precision precision)
    : model_(model),
      max_batch_(max_batch),
      max_tokens_(max_tokens),
      max_positions_(max_positions),
      rope_(rope_inverse_frequencies(model.config()), max_positions),
      plan_(ForwardMemoryPlan::make(model.config(), max_batch, max_tokens, std::max(max_tokens, max_positions),
                                    omp_get_max_threads(), precision)),
      arena_(plan_.activations + plan_.scratch, "forward workspace") {
  if (precision == Precision::bf16) bf16_.emplace(model);
}

void LlamaForward::run_layers(const std::vector<int32_t>& tokens, int64_t B, int64_t T, const int64_t* start,
                              KVCache* cache) {
  const ModelConfig& c = model_.config();
  check(B <= max_batch_ && T <= max_tokens_,
        "batch " + std::to_string(B) + "x" + std::to_string(T) + " exceeds the planned " +
            std::to_string(max_batch_) + "x" + std::to_string(max_tokens_),
        "forward");
  check(static_cast<int64_t>(tokens.size()) == B * T, "expected " + std::to_string(B * T) + " tokens", "forward");
  const int64_t rows = B * T, D = c.hidden_size, Q = c.q_dim(), KV = c.kv_dim(), F = c.intermediate_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  arena_.reset();
  Tensor x = arena_.alloc({rows, D});     // residual stream
  Tensor h = arena_.alloc({rows, D});     // normalised input of a block
  Tensor q = arena_.alloc({rows, Q});     // queries, then RoPE'd
  Tensor k = arena_.alloc({rows, KV});    // new keys
  Tensor v = arena_.alloc({rows, KV});    // new values
  Tensor att = arena_.alloc({rows, Q});   // attention output per head
  Tensor gate = arena_.alloc({rows, F});  // gate projection, then silu(gate)⊙up
  Tensor up = arena_.alloc({rows, F});
  hidden_ = arena_.alloc({rows, D});
  const int64_t kv_capacity = cache ? cache->capacity : T;

  std::vector<int64_t> positions(static_cast<size_t>(rows));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) positions[b * T + t] = start[b] + t;

  for (int64_t r = 0; r < rows; ++r) {
    const int32_t id = tokens[r];
    if (id < 0 || id >= c.vocab_size)
      throw Error("token id " + std::to_string(id) + " outside the vocabulary (" + std::to_string(c.vocab_size) + ")",
                  "forward", "the tokenizer does not belong to this model");
    std::memcpy(x.data() + r * D, model_.embed().data() + static_cast<int64_t>(id) * D, sizeof(float) * D);
  }

  AttentionShape shape{B, T, kv_capacity, c.num_heads, c.num_kv_heads, c.head_dim, c.sliding_window};
  Tensor scratch = arena_.alloc({attention_scratch_size(shape, omp_get_max_threads())});
  // bf16: y (=|+=) bf16(in)·W16ᵀ + bias, the input rounded into in16 first.
  uint16_t* in16 = bf16_ ? reinterpret_cast<uint16_t*>(
                               arena_.alloc({(rows * std::max({D, Q, F}) + 1) / 2}).data())
                         : nullptr;
  auto round_input = [&](const Tensor& in, int64_t width) { convert_f32_to_bf16(in.data(), in16, rows * width); };
  auto bias_of = [](const Tensor& b) { return b.empty() ? nullptr : b.data(); };
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const LayerWeights& w = model_.layer(l);
    rmsnorm_forward(x.data(), w.attn_norm.data(), h.data(), rows, D, eps);
    if (bf16_) {
      const Bf16Weights::Layer& w16 = bf16_->layer(l);
      round_input(h, D);
      linear_bf16(in16, w16.wq, bias_of(w.bq), 0.f, q.data(), rows, D, Q);
      linear_bf16(in16, w16.wk, bias_of(w.bk), 0.f, k.data(), rows, D, KV);
      linear_bf16(in16, w16.wv, bias_of(w.bv), 0.f, v.data(), rows, D, KV);
    } else {
      linear_forward(h.data(), w.wq.data(), bias_of(w.bq), q.data(), rows, D, Q);
      linear_forward(h.data(), w.wk.data(), bias_of(w.bk), k.data(), rows, D, KV);
      linear_forward(h.data(), w.wv.data(), bias_of(w.bv), v.data(), rows, D, KV);
    }
    rope_forward(q.data(), positions.data(), rows, c.num_heads, c.head_dim, rope_);
    rope_forward(k.data(), positions.data(), rows, c.num_kv_heads, c.head_dim, rope_);
    const float* keys = k.data();
    const float* values = v.data();
    if (cache) {  // append the new keys/values at each sequence's positions
      for (int64_t b = 0; b < B; ++b) {
        float* kdst = cache->k[l].data() + (b * cache->capacity + start[b]) * KV;
        float* vdst = cache->v[l].data() + (b * cache->capacity + start[b]) * KV;
        std::memcpy(kdst, k.data() + b * T * KV, sizeof(float) * T * KV);
        std::memcpy(vdst, v.data() + b * T * KV, sizeof(float) * T * KV);
      }
      keys = cache->k[l].data();
      values = cache->v[l].data();
    }
    attention_forward(q.data(), keys, values, att.data(), start, shape, scratch.data());
    // x += att · Woᵀ (+ bo)
    if (bf16_) {
      round_input(att, Q);
      linear_bf16(in16, bf16_->layer(l).wo, bias_of(w.bo), 1.f, x.data(), rows, Q, D);
    } else {
      if (!w.bo.empty())
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < D; ++i) x[r * D + i] += w.bo[i];
      gemm(Trans::no, Trans::yes, rows, D, Q, 1.f, att.data(), Q, w.wo.data(), Q, 1.f, x.data(), D);
    }

    rmsnorm_forward(x.data(), w.mlp_norm.data(), h.data(), rows, D, eps);
    if (bf16_) {
      round_input(h, D);
      linear_bf16(in16, bf16_->layer(l).w_gate, bias_of(w.b_gate), 0.f, gate.data(), rows, D, F);
      linear_bf16(in16, bf16_->layer(l).w_up, bias_of(w.b_up), 0.f, up.data(), rows, D, F);
    } else {
      linear_forward(h.data(), w.w_gate.data(), bias_of(w.b_gate), gate.data(), rows, D, F);
      linear_forward(h.data(), w.w_up.data(), bias_of(w.b_up), up.data(), rows, D, F);
    }
    swiglu_forward(gate.data(), up.data(), gate.data(), rows * F);
    if (bf16_) {
      round_input(gate, F);
      linear_bf16(in16, bf16_->layer(l).w_down, bias_of(w.b_down), 1.f, x.data(), rows, F, D);
    } else {
      if (!w.b_down.empty())
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < D; ++i) x[r * D + i] += w.b_down[i];
      gemm(Trans::no, Trans::yes, rows, D, F, 1.f, gate.data(), F, w.w_down.data(), F, 1.f, x.data(), D);
    }
  }
  rmsnorm_forward(x.data(), model_.final_norm().data(), hidden_.data(), rows, D, eps);
}

Tensor LlamaForward::head(const std::vector<int64_t>& rows) {
  const ModelConfig& c = model_.config();
  const int64_t D = c.hidden_size, n = static_cast<int64_t>(rows.size());
  Tensor picked = arena_.alloc({n, D});
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(picked.data() + i * D, hidden_.data() + rows[i] * D, sizeof(float) * D);
  Tensor logits = Tensor::zeros({n, c.vocab_size});
  if (bf16_) {
    auto* picked16 = reinterpret_cast<uint16_t*>(arena_.alloc({(n * D + 1) / 2}).data());
    convert_f32_to_bf16(picked.data(), picked16, n * D);
    gemm_bf16(Trans::no, Trans::yes, n, c.vocab_size, D, picked16, D, bf16_->head().data_as<uint16_t>(), D, 0.f,
              logits.data(), c.vocab_size);
  } else {
    gemm(Trans::no, Trans::yes, n, c.vocab_size, D, 1.f, picked.data(), D, model_.lm_head().data(), D, 0.f,
         logits.data(), c.vocab_size);
  }
  return logits;
}

Tensor LlamaForward::logits_all(const std::vector<int32_t>& tokens, int64_t batch, int64_t seq) {
  std::vector<int64_t> start(static_cast<size_t>(batch), 0);
  run_layers(tokens, batch, seq, start.data(), nullptr);
  std::vector<int64_t> rows(static_cast<size_t>(batch * seq));
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  return head(rows).reshape({batch, seq, model_.config().vocab_size});
}

Tensor LlamaForward::step(const std::vector<int32_t>& tokens, int64_t batch, int64_t seq,
                          const std::vector<int64_t>& lengths, KVCache& cache) {
  check(batch == cache.batch && static_cast<int64_t>(lengths.size()) == batch,
        "cache holds " + std::to_string(cache.batch) + " sequences, step got " + std::to_string(batch), "forward");
  std::vector<int64_t> rows;
  for (int64_t b = 0; b < batch; ++b) {
    if (lengths[b] < 1 || lengths[b] > seq)
      throw Error("each sequence needs 1.." + std::to_string(seq) + " new tokens", "forward");
    if (cache.length[b] + seq > cache.capacity)
      throw Error("sequence " + std::to_string(b) + " would reach position " + std::to_string(cache.length[b] + seq) +
                      ", beyond the cache capacity " + std::to_string(cache.capacity),
                  "forward", "raise the context length or generate fewer tokens");
    rows.push_back(b * seq + lengths[b] - 1);
  }
  run_layers(tokens, batch, seq, cache.length.data(), &cache);
  for (int64_t b = 0; b < batch; ++b) cache.length[b] += lengths[b];
  return head(rows);
}

}  // namespace sculpt
