#include "sculpt/model/decoder_layer.h"

namespace sculpt {

namespace {
Tensor* kept(Tensor& t) { return t.empty() ? nullptr : &t; }
// Where an op writes `dst`: dst itself, or for a bf16 dst the fp32 staging, rounded into dst after.
Tensor fp32_target(const DecoderPass& pass, const Tensor& dst) {
  return dst.dtype() == DType::f32 ? dst : pass.staging.view(0, dst.shape());
}
void finish(Backend& be, const Tensor& written, Tensor& dst) {
  if (written.address() != dst.address()) be.copy(written, dst);
}
}  // namespace

void decoder_layer_forward(DecoderPass& pass, const LayerWeights& w, const Bf16Weights::Layer& w16,
                           DecoderLayerArrays& a, Tensor* cache_k, Tensor* cache_v) {
  Backend& be = pass.backend;
  LinearOps& proj = pass.linear;
  const AttentionShape& s = pass.shape;
  using Input = LinearOps::Input;

  Tensor h1 = fp32_target(pass, a.h1);
  be.rmsnorm_forward(a.x_in, w.attn_norm, pass.eps, h1, kept(a.inv_rms1));
  finish(be, h1, a.h1);
  proj.forward(a.h1, w.wq, w16.wq, w.bq, nullptr, a.q);
  proj.forward(a.h1, w.wk, w16.wk, w.bk, nullptr, a.k, Input::same_as_last);
  proj.forward(a.h1, w.wv, w16.wv, w.bv, nullptr, a.v, Input::same_as_last);
  be.rope_forward(a.q, pass.positions, s.n_heads, pass.rope);
  be.rope_forward(a.k, pass.positions, s.n_kv_heads, pass.rope);
  const Tensor* keys = &a.k;
  const Tensor* values = &a.v;
  if (cache_k) {  // append the new keys/values at each sequence's positions
    const int64_t T = s.q_len, KV = s.n_kv_heads * s.head_dim;
    for (int64_t b = 0; b < s.batch; ++b) {
      const int64_t at = (b * s.kv_capacity + pass.start[static_cast<size_t>(b)]) * KV;
      Tensor k_dst = cache_k->view(at, {T, KV}), v_dst = cache_v->view(at, {T, KV});
      be.copy(a.k.rows(b * T, (b + 1) * T), k_dst);
      be.copy(a.v.rows(b * T, (b + 1) * T), v_dst);
    }
    keys = cache_k;
    values = cache_v;
  }
  be.attention_forward(a.q, *keys, *values, a.att, pass.start, s, pass.workspace, kept(a.lse));
  proj.forward(a.att, w.wo, w16.wo, w.bo, &a.x_in, a.x_mid);

  Tensor h2 = fp32_target(pass, a.h2);
  be.rmsnorm_forward(a.x_mid, w.mlp_norm, pass.eps, h2, kept(a.inv_rms2));
  finish(be, h2, a.h2);
  proj.forward(a.h2, w.w_gate, w16.w_gate, w.b_gate, nullptr, a.gate);
  proj.forward(a.h2, w.w_up, w16.w_up, w.b_up, nullptr, a.up, Input::same_as_last);
  Tensor act = fp32_target(pass, a.act);
  be.swiglu_forward(a.gate, a.up, act);
  finish(be, act, a.act);
  proj.forward(a.act, w.w_down, w16.w_down, w.b_down, &a.x_mid, a.x_out);
}

}  // namespace sculpt
