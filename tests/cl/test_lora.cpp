// LoRA baselines: adapter gradients through the merged weight and O-LoRA's regulariser against
// the PyTorch twin (tools/golden/olora_twin.py), gradients against finite differences of the real
// loss, and the per-task mechanics of seqlora / inclora / olora.
#include <gtest/gtest.h>

#include <cmath>

#include "sculpt/cl/lora.h"
#include "sculpt/cl/methods.h"
#include "sculpt/core/error.h"
#include "sculpt/data/batching.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/text/byte_tokenizer.h"
#include "sculpt/train/step.h"
#include "test_support.h"
#include "tiny_model.h"

namespace sculpt {
namespace {

using testing::same_bits;

// hidden 12, 4 heads of 2: q_proj is (8, 12) like the twin's layer.
LlamaModel small_model() {
  return testing::tiny_model({.hidden = 12, .intermediate = 16, .heads = 4, .kv_heads = 2, .head_dim = 2}, 4, 0.3f);
}

size_t index_of(const LlamaModel& m, const std::string& name) {
  for (size_t i = 0; i < m.parameters().size(); ++i)
    if (m.parameters()[i].name == name) return i;
  ADD_FAILURE() << name;
  return 0;
}

void expect_close(const Tensor& got, const Tensor& want, double tol, const char* what) {
  ASSERT_EQ(got.numel(), want.numel()) << what;
  for (int64_t j = 0; j < got.numel(); ++j) ASSERT_NEAR(got[j], want[j], tol) << what << " [" << j << "]";
}

struct Twin {
  SafetensorsFile f{testing::fixtures("olora.safetensors")};
  Tensor get(const std::string& n) const { return f.read_f32(n); }
  double meta(const std::string& k) const { return std::stod(f.metadata().at(k)); }
};

TEST(OLora, RegulariserAndItsGradientMatchThePyTorchTwin) {
  const Twin twin;
  LlamaModel m = small_model();
  LoraOptions o;
  o.variant = LoraVariant::olora;
  o.rank = 4;
  o.alpha = 16;
  o.lambda1 = twin.meta("lambda1");
  o.lambda2 = twin.meta("lambda2");
  LoraStrategy lora(o);
  AdamW opt(m.parameters(), {});
  lora.begin_task(m, opt);
  auto& ad = lora.adapters().at(0);  // q_proj of layer 0
  ASSERT_EQ(ad.n, 8);
  ASSERT_EQ(ad.m, 12);
  ad.a.copy_from(twin.get("a_t"));
  ad.b.copy_from(twin.get("b_t"));
  ad.previous_a = {twin.get("prev.0"), twin.get("prev.1")};
  lora.adapters().resize(1);
  EXPECT_NEAR(lora.orthogonality(), twin.meta("orthogonal"), 1e-4);
  Gradients g(m);
  g.zero();  // no task loss: only the regulariser's gradient
  lora.on_gradients(m, g);
  expect_close(ad.da, twin.get("grad_a_reg"), 1e-4, "dA");
  expect_close(ad.db, twin.get("grad_b_reg"), 1e-4, "dB");
}

TEST(Lora, AdapterGradientsFromTheMergedWeightMatchTheTwin) {
  const Twin twin;
  LlamaModel m = small_model();
  LoraOptions o;
  o.rank = 4;
  o.alpha = 16;
  LoraStrategy lora(o);
  AdamW opt(m.parameters(), {});
  lora.begin_task(m, opt);
  lora.adapters().resize(1);
  auto& ad = lora.adapters()[0];
  ad.a.copy_from(twin.get("a_t"));
  ad.b.copy_from(twin.get("b_t"));
  Gradients g(m);
  g.zero();
  g.table()[ad.index].value.copy_from(twin.get("g"));
  lora.on_gradients(m, g);
  expect_close(ad.da, twin.get("grad_a_task"), 1e-4, "dA");
  expect_close(ad.db, twin.get("grad_b_task"), 1e-4, "dB");
  EXPECT_EQ(g.global_norm(), 0.0);  // the frozen base contributes nothing to clipping
}

// The adapter gradient equals the derivative of the real training loss (finite differences).
TEST(Lora, GradientsMatchFiniteDifferencesOfTheLoss) {
  LlamaModel m = small_model();
  LoraOptions o;
  o.rank = 2;
  o.alpha = 4;
  LoraStrategy lora(o);
  AdamW opt(m.parameters(), {});
  lora.begin_task(m, opt);
  for (auto& ad : lora.adapters())  // B ≠ 0 so that dA ≠ 0
    for (int64_t j = 0; j < ad.b.numel(); ++j) ad.b[j] = 0.1f * std::sin(static_cast<float>(j + ad.index));
  lora.merge_into(m);
  Example e;
  e.tokens = {kByteTokenizerBos, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  e.target.assign(e.tokens.size(), 1);
  e.target[0] = 0;
  const TokenBatch batch = make_token_batch({&e});
  TrainingGraph graph(m, 1, 16);
  Gradients g(m);
  g.zero();
  graph.forward_backward(batch, 1.f / static_cast<float>(batch.target_tokens()), g);
  lora.on_gradients(m, g);
  auto loss = [&] {
    lora.merge_into(m);
    return graph.loss(batch) / static_cast<double>(batch.target_tokens());
  };
  int checked = 0;
  for (auto& ad : lora.adapters())
    for (Tensor* p : {&ad.a, &ad.b}) {
      const Tensor& grad = p == &ad.a ? ad.da : ad.db;
      for (int64_t j = 0; j < p->numel(); j += 5) {
        const float keep = (*p)[j];
        (*p)[j] = keep + 1e-2f;
        const double up = loss();
        (*p)[j] = keep - 1e-2f;
        const double down = loss();
        (*p)[j] = keep;
        const double fd = (up - down) / 2e-2;
        EXPECT_NEAR(grad[j], fd, 2e-3 + 0.02 * std::fabs(fd));
        ++checked;
      }
    }
  EXPECT_GT(checked, 10);
}

TEST(Lora, VariantsStartEachTaskAsTheyShould) {
  for (const LoraVariant lora_variant : {LoraVariant::seqlora, LoraVariant::inclora, LoraVariant::olora}) {
    const std::string variant = lora_variant_name(lora_variant);
    LlamaModel m = small_model();
    const LlamaModel base = small_model();
    LoraOptions o;
    o.variant = lora_variant;
    o.rank = 2;
    LoraStrategy lora(o);
    AdamW opt(m.parameters(), {0.9f, 0.95f, 1e-8f, 0.f});
    lora.begin_task(m, opt);
    // B = 0: the model is exactly the base; every base parameter is frozen.
    for (size_t i = 0; i < m.parameters().size(); ++i) {
      EXPECT_TRUE(same_bits(m.parameters()[i].value, base.parameters()[i].value)) << variant;
      EXPECT_FALSE(opt.rule(i).trainable);
    }
    // A few steps on one example.
    Example e;
    e.tokens = {kByteTokenizerBos, 'a', 'b', 'c', 'a', 'b', 'c'};
    e.target.assign(e.tokens.size(), 1);
    e.target[0] = 0;
    TrainingGraph graph(m, 1, 8);
    Gradients g(m);
    for (int s = 0; s < 3; ++s) optimizer_step(m, graph, g, opt, {make_token_batch({&e})}, 1e-2f, 1.f, &lora);
    const size_t q = index_of(m, "model.layers.0.self_attn.q_proj.weight"),
                 k = index_of(m, "model.layers.0.self_attn.k_proj.weight");
    EXPECT_FALSE(same_bits(m.parameters()[q].value, base.parameters()[q].value)) << variant;  // adapted
    EXPECT_TRUE(same_bits(m.parameters()[k].value, base.parameters()[k].value)) << variant;   // not a target
    const Tensor after_task1 = m.parameters()[q].value.clone();
    const Tensor a1 = lora.adapters()[0].a.clone();
    lora.begin_task(m, opt);  // task 2
    EXPECT_TRUE(same_bits(m.parameters()[q].value, after_task1)) << variant;  // nothing jumps at a task start
    const auto& ad = lora.adapters()[0];
    if (lora_variant == LoraVariant::seqlora) {
      EXPECT_TRUE(same_bits(ad.a, a1));  // the same adapter continues
    } else {
      EXPECT_TRUE(same_bits(ad.w_base, after_task1));  // task 1 merged and frozen
      EXPECT_EQ(ad.b.numel() > 0 && std::fabs(ad.b[0]) == 0.f, true);
      EXPECT_FALSE(same_bits(ad.a, a1));
      EXPECT_EQ(ad.previous_a.size(), lora_variant == LoraVariant::olora ? 1u : 0u);
    }
  }
}

TEST(Lora, DropoutAndUnknownVariantsAreErrors) {
  LoraOptions o;
  o.dropout = 0.1;
  EXPECT_THROW(LoraStrategy{o}, Error);
  // A variant is an enum: an unknown one is refused by name, by the method registry.
  EXPECT_THROW(make_method("dora", MethodSettings{}), Error);
}

}  // namespace
}  // namespace sculpt
