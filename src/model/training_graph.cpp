#include "sculpt/model/training_graph.h"

#include <omp.h>

#include <array>
#include <cmath>
#include <cstring>
#include <span>
#include <sstream>

#include "sculpt/backend/cpu/attention.h"
#include "sculpt/backend/backend.h"
#include "sculpt/core/error.h"
#include "sculpt/core/flat_tensors.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/model/rope_frequencies.h"

namespace sculpt {

int64_t TokenBatch::target_tokens() const {
  int64_t n = 0;
  for (float m : loss_mask) n += m != 0.f;
  return n;
}

// ---------------------------------------------------------------- gradients

Gradients::Gradients(const LlamaModel& model) {
  std::vector<Shape> shapes;
  for (const auto& p : model.parameters()) shapes.push_back(p.value.shape());
  FlatTensors flat = allocate_flat(shapes);
  flat_ = flat.whole;
  for (size_t i = 0; i < shapes.size(); ++i) grads_.push_back({model.parameters()[i].name, flat.views[i]});
  layers_ = bind_layers(grads_, model.config().num_layers);
  embed_ = of("model.embed_tokens.weight");
  final_norm_ = of("model.norm.weight");
  lm_head_ = model.config().tie_word_embeddings ? embed_ : of("lm_head.weight");
}

Tensor& Gradients::of(const std::string& name) {
  if (Tensor* t = find_parameter(grads_, name)) return *t;
  throw Error("no gradient named '" + name + "'", "gradients");
}

void Gradients::zero() { cpu_backend().fill(flat_, 0.f); }

// One pass over the buffer each (the gaps are zero).
double Gradients::global_norm() const { return std::sqrt(cpu_backend().sum_of_squares(flat_)); }

void Gradients::scale(float factor) { cpu_backend().scale(flat_, factor); }

// ---------------------------------------------------------------- memory plan

namespace {
struct Dims {
  int64_t rows, D, Q, KV, F, V, H, B, T;
};
Dims dims_of(const ModelConfig& c, int64_t batch, int64_t seq) {
  return {batch * seq, c.hidden_size, c.q_dim(), c.kv_dim(), c.intermediate_size, c.vocab_size, c.num_heads, batch, seq};
}
std::array<Shape, 14> layer_shapes(const Dims& d) {  // (an array: forward calls it per layer, allocation-free)
  return {{{d.rows, d.D}, {d.rows}, {d.rows, d.D}, {d.rows, d.Q}, {d.rows, d.KV}, {d.rows, d.KV}, {d.rows, d.Q},
           {d.B, d.H, d.T}, {d.rows, d.D}, {d.rows}, {d.rows, d.D}, {d.rows, d.F}, {d.rows, d.F}, {d.rows, d.F}}};
}
std::vector<Shape> final_shapes(const Dims& d) { return {{d.rows, d.D}, {d.rows}, {d.rows, d.D}, {d.rows, d.D}}; }
std::vector<Shape> backward_shapes(const ModelConfig& c, const Dims& d, int threads, int64_t chunk) {
  // dx, dh (D); datt, dq (Q); dk, dv (KV); dact, dgate, dup (F); logits chunk and its rows' loss
  // weights; attention scratch.
  return {{d.rows, d.D}, {d.rows, d.D}, {d.rows, d.Q}, {d.rows, d.Q}, {d.rows, d.KV}, {d.rows, d.KV},
          {d.rows, d.F}, {d.rows, d.F}, {d.rows, d.F}, {std::min(chunk, d.rows), d.V}, {std::min(chunk, d.rows)},
          {attention_scratch_size({d.B, d.T, d.T, c.num_heads, c.num_kv_heads, c.head_dim, 0}, threads)}};
}
// The dtype of each of layer_shapes' arrays: bf16 precision keeps the three that only feed
// products' weight gradients (h1, h2, act) as the bf16 operands those products read.
std::array<DType, 14> layer_dtypes(Precision precision) {
  std::array<DType, 14> t;
  t.fill(DType::f32);
  if (precision == Precision::bf16) t[2] = t[10] = t[13] = DType::bf16;
  return t;
}
int64_t total(std::span<const Shape> shapes) {
  int64_t n = 0;
  for (const auto& s : shapes) n += Arena::footprint(s);
  return n;
}
int64_t layer_total(const Dims& d, Precision precision) {
  const auto shapes = layer_shapes(d);
  const auto dtypes = layer_dtypes(precision);
  int64_t n = 0;
  for (size_t i = 0; i < shapes.size(); ++i) n += Arena::footprint(shapes[i], dtypes[i]);
  return n;
}
// Room for n bf16 values in a float arena.
Shape bf16_room(int64_t n) { return {(n + 1) / 2}; }
// bf16: the rounded operands of the products. In the forward, attention's output (rows × Q; the
// other inputs are saved in bf16) and the fp32 staging of the norms' and the activation's output
// before they are rounded into their saved bf16 arrays (rows × max(D, F)); in the backward the
// input (rows × its widest input) and the output gradient (rows × its widest output) of a
// projection; the head's rows of h and of the logits' gradient, a chunk at a time.
std::vector<Shape> bf16_forward_shapes(const Dims& d) {
  return {bf16_room(d.rows * d.Q), {d.rows, std::max(d.D, d.F)}};
}
std::vector<Shape> bf16_backward_shapes(const Dims& d, int64_t chunk) {
  const int64_t widest = std::max({d.D, d.Q, d.KV, d.F}), n = std::min(chunk, d.rows);
  return {bf16_room(d.rows * widest), bf16_room(d.rows * widest), bf16_room(n * d.D), bf16_room(n * d.V)};
}
}  // namespace

TrainingMemoryPlan TrainingMemoryPlan::make(const ModelConfig& c, int64_t batch, int64_t seq, int threads,
                                            int64_t head_chunk_rows, Precision precision) {
  const Dims d = dims_of(c, batch, seq);
  TrainingMemoryPlan p;
  p.activations = c.num_layers * layer_total(d, precision) + total(final_shapes(d));
  p.backward = total(backward_shapes(c, d, threads, head_chunk_rows));
  p.forward_scratch = Arena::footprint(
      {attention_scratch_size({d.B, d.T, d.T, c.num_heads, c.num_kv_heads, c.head_dim, 0}, threads)});
  const int64_t chunk = std::min(head_chunk_rows, d.rows);
  p.loss_head = total(std::vector<Shape>{{chunk, d.V}, {chunk}});
  if (precision == Precision::bf16) {
    p.backward += total(bf16_backward_shapes(d, head_chunk_rows));
    p.forward_scratch += total(bf16_forward_shapes(d));
    p.loss_head += total(std::vector<Shape>{bf16_room(chunk * d.D)});
    p.weight_copies = (Bf16Weights::bytes(c) + 3) / 4;
  }
  return p;
}

std::string TrainingMemoryPlan::describe() const {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(1);
  out << "saved activations " << activations * 4.0 / (1 << 20) << " MiB, backward workspace "
      << backward * 4.0 / (1 << 20) << " MiB";
  if (weight_copies > 0) out << ", bf16 weight copies " << weight_copies * 4.0 / (1 << 20) << " MiB";
  return out.str();
}

// ---------------------------------------------------------------- graph

TrainingGraph::TrainingGraph(const LlamaModel& model, int64_t max_batch, int64_t max_seq, Precision precision,
                             Backend& backend)
    : model_(model),
      max_batch_(max_batch),
      max_seq_(max_seq),
      precision_(precision),
      backend_(backend),
      linear_(backend, precision),
      rope_(rope_inverse_frequencies(model.config()), max_seq),
      plan_(TrainingMemoryPlan::make(model.config(), max_batch, max_seq, omp_get_max_threads(), kHeadChunkRows,
                                     precision)),
      saved_(plan_.activations, "saved activations"),
      work_(plan_.backward, "backward workspace") {
  if (precision_ == Precision::bf16) bf16_.emplace(model, backend_);
}

void TrainingGraph::load_weights() {
  if (bf16_) bf16_->load(model_);
}

void TrainingGraph::forward(const TokenBatch& batch) {
  const ModelConfig& c = model_.config();
  const int64_t B = batch.batch, T = batch.seq;
  if (B * T > max_batch_ * max_seq_ || T > max_seq_)
    throw Error("micro-batch " + std::to_string(B) + "x" + std::to_string(T) + " exceeds the planned " +
                    std::to_string(max_batch_ * max_seq_) + " tokens of at most " + std::to_string(max_seq_),
                "training");
  check(static_cast<int64_t>(batch.tokens.size()) == B * T && batch.targets.size() == batch.tokens.size() &&
            batch.loss_mask.size() == batch.tokens.size(),
        "token, target and mask arrays must all hold B·T entries", "training");
  const Dims d = dims_of(c, B, T);
  const float eps = static_cast<float>(c.rms_norm_eps);
  saved_.reset();
  work_.reset();
  layers_.assign(static_cast<size_t>(c.num_layers), {});
  const auto dtypes = layer_dtypes(precision_);
  for (auto& a : layers_) {
    auto s = layer_shapes(d);
    Tensor* fields[] = {&a.x_in, &a.inv_rms1, &a.h1, &a.q, &a.k, &a.v, &a.att,
                        &a.lse, &a.x_mid, &a.inv_rms2, &a.h2, &a.gate, &a.up, &a.act};
    for (size_t i = 0; i < s.size(); ++i) *fields[i] = saved_.alloc(s[i], dtypes[i]);
  }
  x_final_ = saved_.alloc({d.rows, d.D});
  inv_rms_final_ = saved_.alloc({d.rows});
  h_final_ = saved_.alloc({d.rows, d.D});
  d_h_final_ = saved_.alloc({d.rows, d.D});
  for (size_t l = 0; l < layers_.size(); ++l) layers_[l].x_out = l + 1 < layers_.size() ? layers_[l + 1].x_in : x_final_;

  positions_.resize(static_cast<size_t>(d.rows));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) positions_[b * T + t] = t;
  starts_.assign(static_cast<size_t>(B), 0);

  // Embedding lookup into the first layer's input.
  Tensor x = c.num_layers > 0 ? layers_[0].x_in : x_final_;
  backend_.embedding_forward(model_.embed(), batch.tokens, x);
  const AttentionShape shape{B, T, T, c.num_heads, c.num_kv_heads, c.head_dim, c.sliding_window};
  DecoderPass pass{backend_, linear_, rope_, positions_, starts_, shape,
                   work_.alloc({backend_.attention_workspace(shape)}), eps};
  if (precision_ == Precision::bf16) {
    linear_.set_scratch(work_.alloc({d.rows * d.Q}, DType::bf16));
    pass.staging = work_.alloc({d.rows * std::max(d.D, d.F)});
  }
  static const Bf16Weights::Layer kNone;  // fp32: the projections never read the bf16 copies
  for (int64_t l = 0; l < c.num_layers; ++l)
    decoder_layer_forward(pass, model_.layer(l), bf16_ ? bf16_->layer(l) : kNone, layers_[l]);
  backend_.rmsnorm_forward(x_final_, model_.final_norm(), eps, h_final_, &inv_rms_final_);
}

double TrainingGraph::head(const TokenBatch& batch, float scale, Gradients* grads, Write grads_write) {
  const ModelConfig& c = model_.config();
  const int64_t rows = batch.batch * batch.seq, D = c.hidden_size, V = c.vocab_size;
  const int64_t chunk = std::min(kHeadChunkRows, rows);
  Tensor logits = work_.alloc({chunk, V});
  Tensor weight = work_.alloc({chunk});  // (chunk,) each row's loss weight
  Tensor* d_head = grads ? &grads->lm_head() : nullptr;
  const bool bf16 = precision_ == Precision::bf16;
  Tensor h16 = bf16 ? work_.alloc({chunk * D}, DType::bf16) : Tensor();                 // rows of h, rounded
  Tensor dlogits16 = bf16 && grads ? work_.alloc({chunk * V}, DType::bf16) : Tensor();  // (chunk · V)
  const Tensor& head_w = bf16 ? bf16_->head() : model_.lm_head();              // (V, D)
  double loss = 0.0, scale_d = scale;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t n = std::min(chunk, rows - r0);
    Tensor h = h_final_.rows(r0, r0 + n);  // (n, D)
    Tensor h_op = h;                       // h as the products read it
    if (bf16) {
      h_op = h16.view(0, {n, D});
      backend_.copy(h, h_op);
    }
    Tensor chunk_logits = logits.rows(0, n), chunk_weight = weight.rows(0, n);  // (n, V), (n,)
    backend_.matmul(h_op, Trans::no, head_w, Trans::yes, chunk_logits, 1.f, 0.f);
    for (int64_t i = 0; i < n; ++i) weight[i] = batch.loss_mask[r0 + i] != 0.f ? scale : 0.f;
    loss += backend_.cross_entropy(chunk_logits, std::span(batch.targets).subspan(r0, n), chunk_weight) / scale_d;
    if (grads) {
      // d h = dlogits · W_head;  dW_head += dlogitsᵀ · h
      const float beta = r0 == 0 && grads_write == Write::overwrite ? 0.f : 1.f;
      Tensor dh = d_h_final_.rows(r0, r0 + n);  // (n, D)
      Tensor dlogits_op = chunk_logits;
      if (bf16) {
        dlogits_op = dlogits16.view(0, {n, V});
        backend_.copy(chunk_logits, dlogits_op);
      }
      backend_.matmul(dlogits_op, Trans::no, head_w, Trans::no, dh, 1.f, 0.f);
      backend_.matmul(dlogits_op, Trans::yes, h_op, Trans::no, *d_head, 1.f, beta);
    }
  }
  return loss;
}

double TrainingGraph::loss(const TokenBatch& batch) {
  forward(batch);
  work_.reset();
  return head(batch, 1.f, nullptr);
}

double TrainingGraph::forward_backward(const TokenBatch& batch, float scale, Gradients& grads, Write grads_write) {
  check(scale > 0.f, "loss scale must be positive", "training");
  const ModelConfig& c = model_.config();
  forward(batch);
  work_.reset();
  const double loss = head(batch, scale, &grads, grads_write);
  const Dims d = dims_of(c, batch.batch, batch.seq);
  work_.reset();
  Tensor dx = work_.alloc({d.rows, d.D});  // d loss / d residual stream (the final norm writes it)
  Tensor dh = work_.alloc({d.rows, d.D});
  Tensor datt = work_.alloc({d.rows, d.Q}), dq = work_.alloc({d.rows, d.Q});
  Tensor dk = work_.alloc({d.rows, d.KV}), dv = work_.alloc({d.rows, d.KV});
  Tensor dact = work_.alloc({d.rows, d.F}), dgate = work_.alloc({d.rows, d.F}), dup = work_.alloc({d.rows, d.F});
  const AttentionShape shape{d.B, d.T, d.T, c.num_heads, c.num_kv_heads, c.head_dim, c.sliding_window};
  Tensor scratch = work_.alloc({backend_.attention_workspace(shape)});
  if (precision_ == Precision::bf16) {
    const int64_t widest = std::max({d.D, d.Q, d.KV, d.F});
    linear_.set_scratch(work_.alloc({d.rows * widest}, DType::bf16), work_.alloc({d.rows * widest}, DType::bf16));
  }
  using Input = LinearOps::Input;
  auto bias = [](Tensor& b) { return b.empty() ? nullptr : &b; };
  static const Bf16Weights::Layer kNone;

  backend_.rmsnorm_backward(x_final_, model_.final_norm(), inv_rms_final_, d_h_final_, dx, grads.final_norm(),
                            Write::overwrite, grads_write);
  for (int64_t l = c.num_layers - 1; l >= 0; --l) {
    const LayerWeights& w = model_.layer(l);
    LayerWeights& g = grads.layer(l);  // gradients, laid out like the weights
    const DecoderLayerArrays& a = layers_[l];
    const Bf16Weights::Layer& w16 = bf16_ ? bf16_->layer(l) : kNone;
    // MLP: out = x_mid + act·Wdᵀ. The residual passes dx through unchanged.
    linear_.backward(a.act, w.w_down, w16.w_down, dx, &dact, g.w_down, bias(g.b_down),
                         Write::overwrite, grads_write);
    backend_.swiglu_backward(a.gate, a.up, dact, dgate, dup);
    linear_.backward(a.h2, w.w_gate, w16.w_gate, dgate, &dh, g.w_gate, bias(g.b_gate),
                         Write::overwrite, grads_write);
    linear_.backward(a.h2, w.w_up, w16.w_up, dup, &dh, g.w_up, bias(g.b_up),
                         Write::accumulate, grads_write, Input::same_as_last);
    backend_.rmsnorm_backward(a.x_mid, w.mlp_norm, a.inv_rms2, dh, dx, g.mlp_norm, Write::accumulate, grads_write);
    // Attention: x_mid = x_in + att·Woᵀ.
    linear_.backward(a.att, w.wo, w16.wo, dx, &datt, g.wo, bias(g.bo), Write::overwrite, grads_write);
    backend_.attention_backward(a.q, a.k, a.v, a.att, a.lse, datt, dq, dk, dv, starts_, shape, scratch);
    backend_.rope_backward(dq, positions_, c.num_heads, rope_);
    backend_.rope_backward(dk, positions_, c.num_kv_heads, rope_);
    linear_.backward(a.h1, w.wq, w16.wq, dq, &dh, g.wq, bias(g.bq), Write::overwrite, grads_write);
    linear_.backward(a.h1, w.wk, w16.wk, dk, &dh, g.wk, bias(g.bk),
                         Write::accumulate, grads_write, Input::same_as_last);
    linear_.backward(a.h1, w.wv, w16.wv, dv, &dh, g.wv, bias(g.bv),
                         Write::accumulate, grads_write, Input::same_as_last);
    backend_.rmsnorm_backward(a.x_in, w.attn_norm, a.inv_rms1, dh, dx, g.attn_norm, Write::accumulate, grads_write);
  }
  // Embedding: scatter-add rows (sequential, so repeated tokens add in a fixed order). A tied
  // head has already written its part; an untied embedding gradient starts from zero here.
  Tensor& d_embed = grads.embed();
  if (grads_write == Write::overwrite && !c.tie_word_embeddings) backend_.fill(d_embed, 0.f);
  backend_.embedding_backward(dx, batch.tokens, d_embed);
  return loss;
}

}  // namespace sculpt

namespace sculpt {

Tensor ActivationProbe::input_of(const std::string& name) const {
  const std::string prefix = "model.layers.";
  check(name.rfind(prefix, 0) == 0, "not a layer projection", name, "adaptive importance needs layer projections");
  const size_t dot = name.find('.', prefix.size());
  const int64_t layer = std::stoll(name.substr(prefix.size(), dot - prefix.size()));
  check(layer >= 0 && layer < static_cast<int64_t>(graph_.layers_.size()), "layer out of range", name);
  const auto& a = graph_.layers_[static_cast<size_t>(layer)];
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  // In bf16 precision h1, h2 and act are kept in bf16: the caller gets them widened to fp32.
  const auto fp32 = [](const Tensor& t) { return t.dtype() == DType::f32 ? t : t.to(DType::f32); };
  if (has("q_proj") || has("k_proj") || has("v_proj")) return fp32(a.h1);
  if (has("o_proj")) return a.att;
  if (has("gate_proj") || has("up_proj")) return fp32(a.h2);
  if (has("down_proj")) return fp32(a.act);
  throw Error("no recorded input for this parameter", name, "adaptive importance supports q/k/v/o/gate/up/down");
}

}  // namespace sculpt
