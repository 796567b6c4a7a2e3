// The whole-model backward and the optimizer against the PyTorch float64 twin
// (tests/fixtures/train/*.safetensors from tools/golden/llama_twin.py).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "sculpt/cl/strategy.h"
#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/linalg/bf16_gemm.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/optim/adamw.h"
#include "sculpt/optim/schedule.h"
#include "sculpt/train/step.h"
#include "test_support.h"
#include "twin_batch.h"

namespace sculpt {
namespace {

struct TrainCase {
  LlamaModel model;
  TokenBatch batch;
  std::unique_ptr<SafetensorsFile> golden;
};

TrainCase load_train_case(const std::string& name) {
  TrainCase c{load_model(testing::fixtures("model/" + name)), {}, nullptr};
  c.golden = std::make_unique<SafetensorsFile>(testing::fixtures("train/" + name + ".safetensors"));
  c.batch = testing::twin_batch(name);
  return c;
}

// Splits a batch's rows into micro-batches of `rows_each` sequences.
std::vector<TokenBatch> split(const TokenBatch& b, int64_t rows_each) {
  std::vector<TokenBatch> out;
  for (int64_t r0 = 0; r0 < b.batch; r0 += rows_each) {
    TokenBatch mb;
    mb.batch = std::min(rows_each, b.batch - r0);
    mb.seq = b.seq;
    const auto from = r0 * b.seq, to = (r0 + mb.batch) * b.seq;
    mb.tokens.assign(b.tokens.begin() + from, b.tokens.begin() + to);
    mb.targets.assign(b.targets.begin() + from, b.targets.begin() + to);
    mb.loss_mask.assign(b.loss_mask.begin() + from, b.loss_mask.begin() + to);
    out.push_back(mb);
  }
  return out;
}

class TwinGradients : public ::testing::TestWithParam<const char*> {};

TEST_P(TwinGradients, EveryParameterGradientWithin1e3Relative) {
  TrainCase c = load_train_case(GetParam());
  TrainingGraph graph(c.model, c.batch.batch, c.batch.seq);
  Gradients grads(c.model);
  const int64_t n = c.batch.target_tokens();
  const double loss = graph.forward_backward(c.batch, 1.f / static_cast<float>(n), grads) / n;
  EXPECT_NEAR(loss, c.golden->read_f32("loss")[0], 1e-5 * loss);
  for (const auto& g : grads.table()) {
    Tensor ref = c.golden->read_f32("grad." + g.name);
    ASSERT_EQ(ref.shape(), g.value.shape()) << g.name;
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      diff += std::pow(static_cast<double>(g.value[i]) - ref[i], 2);
      norm += std::pow(static_cast<double>(ref[i]), 2);
    }
    EXPECT_LE(std::sqrt(diff), 1e-3 * std::sqrt(norm) + 1e-9) << g.name;
  }
}

TEST_P(TwinGradients, OverwriteWritesEveryGradient) {
  // A step's first micro-batch writes the gradients instead of adding to zeroed ones: starting
  // from NaN everywhere, every gradient (biases, norms, a tied head included) must come out
  // bit for bit as zero-fill + accumulate gives it.
  TrainCase c = load_train_case(GetParam());
  TrainingGraph graph(c.model, c.batch.batch, c.batch.seq);
  Gradients added(c.model), written(c.model);
  const float scale = 1.f / static_cast<float>(c.batch.target_tokens());
  added.zero();
  const double loss_added = graph.forward_backward(c.batch, scale, added);
  for (auto& g : written.table()) g.value.fill(std::nanf(""));
  const double loss_written = graph.forward_backward(c.batch, scale, written, Write::overwrite);
  EXPECT_EQ(loss_added, loss_written);
  for (size_t i = 0; i < added.table().size(); ++i) {
    const Tensor &a = added.table()[i].value, &w = written.table()[i].value;
    for (int64_t j = 0; j < a.numel(); ++j) ASSERT_EQ(a[j], w[j]) << added.table()[i].name << " [" << j << "]";
  }
}

// The twin's ten AdamW steps (its optimizer settings and cosine schedule, read from the golden's
// metadata) in `precision`: every step's loss within loss_tol of the twin's (relative) and, where
// norm_tol > 0, its gradient norm within norm_tol.
void run_twin_adamw_steps(TrainCase& c, Precision precision, double loss_tol, double norm_tol) {
  const auto& meta = c.golden->metadata();
  AdamWOptions o;
  o.beta1 = 0.9f, o.beta2 = 0.95f, o.eps = std::stof(meta.at("eps")), o.weight_decay = std::stof(meta.at("weight_decay"));
  LrSchedule schedule{ScheduleKind::cosine, std::stof(meta.at("lr")), std::stoll(meta.at("warmup")),
                      std::stoll(meta.at("steps"))};
  const float max_norm = std::stof(meta.at("max_grad_norm"));
  TrainingGraph graph(c.model, c.batch.batch, c.batch.seq, precision);
  Gradients grads(c.model);
  AdamW adam(c.model.parameters(), o);
  Tensor ref_losses = c.golden->read_f32("adamw.losses"), ref_norms = c.golden->read_f32("adamw.grad_norms");
  for (int64_t step = 1; step <= schedule.total_steps; ++step) {
    StepStats s = optimizer_step(c.model, graph, grads, adam, {c.batch}, schedule.at(step), max_norm);
    EXPECT_NEAR(s.loss, ref_losses[step - 1], loss_tol * ref_losses[step - 1]) << "step " << step;
    if (norm_tol > 0) {
      EXPECT_NEAR(s.grad_norm, ref_norms[step - 1], norm_tol * ref_norms[step - 1]) << "step " << step;
    }
  }
}

TEST_P(TwinGradients, TenAdamWStepsMatchTwinLosses) {
  TrainCase c = load_train_case(GetParam());
  run_twin_adamw_steps(c, Precision::fp32, 1e-4, 1e-3);
  double worst = 0;
  for (const auto& p : c.model.parameters()) {
    Tensor ref = c.golden->read_f32("adamw.final." + p.name);
    worst = std::max(worst, testing::max_abs_diff(p.value, ref));
  }
  EXPECT_LE(worst, 1e-4);
}

TEST_P(TwinGradients, AccumulationGivesTheSameUpdate) {
  // One micro-batch of 3 sequences vs three of 1: the weights after one step agree to float
  // rounding (different summation order), and the loss is the same per-token mean.
  TrainCase a = load_train_case(GetParam()), b = load_train_case(GetParam());
  TrainingGraph ga(a.model, 3, a.batch.seq), gb(b.model, 1, b.batch.seq);
  Gradients da(a.model), db(b.model);
  AdamWOptions o;
  o.weight_decay = 0.1f;
  AdamW oa(a.model.parameters(), o), ob(b.model.parameters(), o);
  StepStats sa = optimizer_step(a.model, ga, da, oa, {a.batch}, 1e-3f, 0.f);
  StepStats sb = optimizer_step(b.model, gb, db, ob, split(b.batch, 1), 1e-3f, 0.f);
  EXPECT_NEAR(sa.loss, sb.loss, 1e-6 * sa.loss);
  EXPECT_NEAR(sa.grad_norm, sb.grad_norm, 1e-5 * sa.grad_norm);
  for (size_t i = 0; i < a.model.parameters().size(); ++i) {
    const Tensor& x = a.model.parameters()[i].value;
    const Tensor& y = b.model.parameters()[i].value;
    EXPECT_LE(testing::max_abs_diff(x, y), 1e-6) << a.model.parameters()[i].name;
  }
}

// bf16 precision: the products take bf16 operands, so every gradient moves from the fp32 twin's by
// about bf16's rounding (2⁻⁸ relative per operand), not more: a wrong transpose, a missed bias or
// accumulation, or stale weight copies would be off by O(1).
TEST_P(TwinGradients, Bf16GradientsWithinBf16RoundingOfTheTwins) {
  if (!bf16_gemm_available()) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev): no bf16 precision";
  TrainCase c = load_train_case(GetParam());
  TrainingGraph graph(c.model, c.batch.batch, c.batch.seq, Precision::bf16);
  Gradients grads(c.model);
  const int64_t n = c.batch.target_tokens();
  const double loss = graph.forward_backward(c.batch, 1.f / static_cast<float>(n), grads, Write::overwrite) / n;
  const double ref_loss = c.golden->read_f32("loss")[0];
  EXPECT_NEAR(loss, ref_loss, 1e-2 * ref_loss);
  EXPECT_NE(loss, ref_loss);  // the bf16 path ran
  double worst = 0;
  for (const auto& g : grads.table()) {
    Tensor ref = c.golden->read_f32("grad." + g.name);
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      diff += std::pow(static_cast<double>(g.value[i]) - ref[i], 2);
      norm += std::pow(static_cast<double>(ref[i]), 2);
    }
    worst = std::max(worst, std::sqrt(diff) / (std::sqrt(norm) + 1e-12));
    EXPECT_LE(std::sqrt(diff), 3e-2 * std::sqrt(norm) + 1e-9) << g.name;
  }
  std::printf("bf16 loss %.6f vs twin %.6f; worst relative gradient error %.2e\n", loss, ref_loss, worst);
}

TEST_P(TwinGradients, Bf16TenAdamWStepsFollowTheTwinLosses) {
  // Ten steps change the weights ten times: the losses stay on the fp32 curve only if every step
  // rounds the updated masters into the bf16 copies.
  if (!bf16_gemm_available()) GTEST_SKIP() << "this build has no oneDNN (libdnnl-dev): no bf16 precision";
  TrainCase c = load_train_case(GetParam());
  run_twin_adamw_steps(c, Precision::bf16, 1e-2, 0.0);
}

INSTANTIATE_TEST_SUITE_P(Train, TwinGradients, ::testing::Values("gqa_odd", "qwen2_bias_tied"));

TEST(Schedule, WarmupThenCosineOrLinear) {
  LrSchedule s{ScheduleKind::cosine, 1.f, 4, 12};
  EXPECT_FLOAT_EQ(s.at(1), 0.25f);
  EXPECT_FLOAT_EQ(s.at(4), 1.f);
  EXPECT_NEAR(s.at(8), 0.5f, 1e-6);
  EXPECT_NEAR(s.at(12), 0.f, 1e-6);
  s.kind = ScheduleKind::linear;
  EXPECT_NEAR(s.at(8), 0.5f, 1e-6);
  s.kind = ScheduleKind::constant;
  EXPECT_FLOAT_EQ(s.at(11), 1.f);
  EXPECT_THROW(schedule_from_name("exp"), Error);
}

// update() against torch.optim.AdamW's formula evaluated in double, over three steps with the
// clipping factor applied to the gradient as it is read, a scaled learning rate and its own
// weight decay; a frozen parameter does not move.
TEST(AdamW, UpdateMatchesTheFormulaInDouble) {
  const int64_t n = 70000;  // above the size where the loops go parallel
  Rng rng(3);
  Tensor w = Tensor::zeros({n}), g = Tensor::zeros({n});
  for (int64_t i = 0; i < n; ++i) w[i] = rng.normal(), g[i] = rng.normal();
  std::vector<Parameter> params{{"w", w.clone()}, {"frozen", w.clone()}};
  AdamWOptions o;
  o.weight_decay = 0.1f;
  AdamW adam(params, o);
  adam.set_rule(0, {true, 0.5f, 0.01f});
  adam.set_rule(1, {false, 1.f, -1.f});
  std::vector<double> wd(w.data(), w.data() + n), m(n, 0.0), v(n, 0.0);
  const double lr = 1e-2 * 0.5, decay = 0.01, b1 = o.beta1, b2 = o.beta2, eps = o.eps;
  const float clip[] = {1.f, 0.37f, 1.f};
  for (int step = 1; step <= 3; ++step) {
    adam.begin_step();
    adam.update(0, params[0].value, g, 1e-2f, clip[step - 1]);
    adam.update(1, params[1].value, g, 1e-2f, clip[step - 1]);
    for (int64_t i = 0; i < n; ++i) {  // torch: W ← W(1 − lr·wd), then the Adam step
      const double gi = static_cast<double>(g[i] * clip[step - 1]);
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      const double mh = m[i] / (1 - std::pow(b1, step)), vh = v[i] / (1 - std::pow(b2, step));
      wd[i] = wd[i] * (1 - lr * decay) - lr * mh / (std::sqrt(vh) + eps);
    }
  }
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(params[0].value[i] - wd[i]));
  EXPECT_LT(worst, 2e-6);
  EXPECT_GT(testing::max_abs_diff(params[0].value, w), 1e-3);                              // it moved
  EXPECT_EQ(std::memcmp(params[1].value.data(), w.data(), sizeof(float) * n), 0);  // frozen: untouched
}

// Parameters, gradients and moments share one layout, so the optimizer steps runs of parameters
// with one rule in a single pass over the buffers: the bits of stepping them one by one, with a
// frozen parameter and a scaled learning rate in between, and the gaps left at zero.
TEST(AdamW, OnePassOverTheFlatBuffersEqualsParameterByParameter) {
  LlamaModel a = load_model(testing::fixtures("model/gqa_odd"));
  LlamaModel b = load_model(testing::fixtures("model/gqa_odd"));
  std::vector<Shape> shapes;
  for (const auto& p : a.parameters()) shapes.push_back(p.value.shape());
  const FlatLayout layout = flat_layout(shapes);
  Gradients ga(a), gb(b);
  ASSERT_EQ(a.flat().numel(), layout.total);
  ASSERT_EQ(ga.flat().numel(), layout.total);
  Rng rng(11);
  for (size_t i = 0; i < shapes.size(); ++i) {
    ASSERT_EQ(a.parameters()[i].value.data(), a.flat().data() + layout.offsets[i]);
    ASSERT_EQ(ga.table()[i].value.data(), ga.flat().data() + layout.offsets[i]);
    Tensor& g = ga.table()[i].value;
    for (int64_t k = 0; k < g.numel(); ++k) g[k] = rng.normal();
    gb.table()[i].value.copy_from(g);
  }
  AdamWOptions o;
  o.weight_decay = 0.1f;
  AdamW oa(a.parameters(), o), ob(b.parameters(), o);
  for (AdamW* adam : {&oa, &ob}) {
    adam->set_rule(2, {false, 1.f, -1.f});
    adam->set_rule(5, {true, 0.5f, 0.f});
    adam->set_rule(6, {true, 0.5f, 0.f});
  }
  const Tensor frozen = a.parameters()[2].value.clone();
  for (int step = 0; step < 3; ++step) {
    oa.begin_step(), ob.begin_step();
    oa.update_flat(a.flat(), ga.flat(), 1e-2f, 0.7f);
    for (size_t i = 0; i < shapes.size(); ++i) ob.update(i, b.parameters()[i].value, gb.table()[i].value, 1e-2f, 0.7f);
  }
  EXPECT_EQ(std::memcmp(a.flat().data(), b.flat().data(), sizeof(float) * layout.total), 0);
  EXPECT_EQ(std::memcmp(frozen.data(), a.parameters()[2].value.data(), sizeof(float) * frozen.numel()), 0);
  EXPECT_GT(testing::max_abs_diff(a.parameters()[5].value, load_model(testing::fixtures("model/gqa_odd")).parameters()[5].value), 1e-4);
  for (size_t i = 0; i < shapes.size(); ++i) {  // the gaps after each tensor stay zero
    const int64_t end = i + 1 < shapes.size() ? layout.offsets[i + 1] : layout.total;
    for (int64_t k = layout.offsets[i] + shape_numel(shapes[i]); k < end; ++k) ASSERT_EQ(a.flat()[k], 0.f) << k;
  }
  // Tables that are not flat buffers (a strategy's own parameters) take the per-parameter path:
  // the same bits.
  std::vector<Parameter> loose, loose_grads;
  for (size_t i = 0; i < shapes.size(); ++i) {
    loose.push_back({a.parameters()[i].name, a.parameters()[i].value.clone()});
    loose_grads.push_back({a.parameters()[i].name, ga.table()[i].value.clone()});
  }
  AdamW oc(loose, o), od(a.parameters(), o);
  oc.begin_step(), od.begin_step();
  oc.update_all(loose, loose_grads, 1e-2f, 1.f);
  od.update_flat(a.flat(), ga.flat(), 1e-2f, 1.f);
  for (size_t i = 0; i < shapes.size(); ++i)
    EXPECT_EQ(std::memcmp(loose[i].value.data(), a.parameters()[i].value.data(), sizeof(float) * loose[i].value.numel()), 0);
  // A buffer that is not this optimizer's layout is refused, not stepped out of bounds.
  EXPECT_THROW(od.update_flat(loose[0].value, ga.flat(), 1e-2f, 1.f), Error);
}

TEST(AdamW, FrozenParametersDoNotMove) {
  LlamaModel m = load_model(testing::fixtures("model/gqa_odd"));
  Tensor before = m.parameters()[0].value.clone();
  TrainCase c = load_train_case("gqa_odd");
  TrainingGraph graph(m, 3, c.batch.seq);
  Gradients grads(m);
  AdamW adam(m.parameters(), {});
  adam.set_rule(0, {false, 1.f, -1.f});
  optimizer_step(m, graph, grads, adam, {c.batch}, 1e-2f, 1.f);
  EXPECT_EQ(std::memcmp(before.data(), m.parameters()[0].value.data(), sizeof(float) * before.numel()), 0);
}

}  // namespace
}  // namespace sculpt
