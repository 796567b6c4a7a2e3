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
#include "sculpt/model/decoder_layer.h"
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
    p.scratch += Arena::footprint({rows * widest}, DType::bf16) + Arena::footprint({rows * c.hidden_size}, DType::bf16);
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
                           Precision precision, Backend& backend)
    : model_(model),
      max_batch_(max_batch),
      max_tokens_(max_tokens),
      max_positions_(max_positions),
      backend_(backend),
      linear_(backend, precision),
      rope_(rope_inverse_frequencies(model.config()), max_positions),
      plan_(ForwardMemoryPlan::make(model.config(), max_batch, max_tokens, std::max(max_tokens, max_positions),
                                    omp_get_max_threads(), precision)),
      arena_(plan_.activations + plan_.scratch, "forward workspace") {
  if (precision == Precision::bf16) bf16_.emplace(model, backend_);
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

  backend_.embedding_forward(model_.embed(), tokens, x);

  const AttentionShape shape{B, T, kv_capacity, c.num_heads, c.num_kv_heads, c.head_dim, c.sliding_window};
  DecoderPass pass{backend_, linear_, rope_, positions, std::span(start, static_cast<size_t>(B)), shape,
                   arena_.alloc({backend_.attention_workspace(shape)}), eps};
  // bf16: one product's rounded input at a time (rows × the widest input).
  if (bf16_) linear_.set_scratch(arena_.alloc({rows * std::max({D, Q, F})}, DType::bf16));
  // One set of arrays for every layer: the residual stream x is updated in place, h serves both
  // norms, and silu(gate) ⊙ up overwrites gate.
  DecoderLayerArrays a;  // no inverse RMS, no log-sum-exp: nothing is kept for a backward
  a.x_in = a.x_mid = a.x_out = x;
  a.h1 = a.h2 = h;
  a.q = q, a.k = k, a.v = v, a.att = att;
  a.gate = a.act = gate;
  a.up = up;
  static const Bf16Weights::Layer kNone;  // fp32: the projections never read the bf16 copies
  for (int64_t l = 0; l < c.num_layers; ++l)
    decoder_layer_forward(pass, model_.layer(l), bf16_ ? bf16_->layer(l) : kNone, a, cache ? &cache->k[l] : nullptr,
                          cache ? &cache->v[l] : nullptr);
  backend_.rmsnorm_forward(x, model_.final_norm(), eps, hidden_, nullptr);
}

Tensor LlamaForward::head(const std::vector<int64_t>& rows) {
  const ModelConfig& c = model_.config();
  const int64_t D = c.hidden_size, n = static_cast<int64_t>(rows.size());
  Tensor picked = arena_.alloc({n, D});
  for (int64_t i = 0; i < n; ++i) {
    Tensor row = picked.rows(i, i + 1);
    backend_.copy(hidden_.rows(rows[i], rows[i] + 1), row);
  }
  Tensor logits = Tensor::zeros({n, c.vocab_size});
  if (bf16_) {
    Tensor picked16 = arena_.alloc({n * D}, DType::bf16).view(0, {n, D});
    backend_.copy(picked, picked16);
    backend_.matmul(picked16, Trans::no, bf16_->head(), Trans::yes, logits, 1.f, 0.f);
  } else {
    backend_.matmul(picked, Trans::no, model_.lm_head(), Trans::yes, logits, 1.f, 0.f);
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
