// The memory plan against what the code really allocates: glibc's count of the bytes in use in
// all its arenas (every thread's), with mmap raised above every tensor here so that no page
// rounding blurs the count, after the training objects of each method are built and one step is
// taken.
#include <gtest/gtest.h>
#include <malloc.h>

#include <memory>

#include "sculpt/cl/ewc.h"
#include "sculpt/cl/lora.h"
#include "sculpt/cl/osft/osft.h"
#include "sculpt/core/error.h"
#include "sculpt/core/threads.h"
#include "sculpt/data/batching.h"
#include "sculpt/train/memory_plan.h"
#include "sculpt/train/step.h"
#include "test_support.h"
#include "tiny_model.h"

namespace sculpt {
namespace {

// AddressSanitizer replaces glibc's malloc, whose in-use counters then see nothing: the tests
// that measure run in the Release suite and skip under the sanitizers.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kGlibcHeap = false;
#else
constexpr bool kGlibcHeap = true;
#endif
#define SKIP_WITHOUT_GLIBC_HEAP() \
  if (!kGlibcHeap) GTEST_SKIP() << "AddressSanitizer replaces glibc's malloc: nothing to measure here"

int64_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return static_cast<int64_t>(m.uordblks + m.hblkhd);
}

// A model big enough that its tensors dwarf the bookkeeping (~1.1 M parameters, 41-token rows).
const testing::TinyShape kShape{128, 352, 2, 4, 2, 32, 256, false};
constexpr int64_t kRows = 3, kSeq = 40;

std::vector<Example> examples() {
  std::vector<Example> out;
  for (int i = 0; i < static_cast<int>(kRows); ++i) {
    Example e;
    for (int t = 0; t <= kSeq; ++t) e.tokens.push_back((t * 7 + i * 13) % 256);
    e.target.assign(e.tokens.size(), 1);
    out.push_back(e);
  }
  return out;
}

struct Measured {
  int64_t bytes = 0;  // in use after the step (and end_task), beyond what was in use before
  MemoryPlan plan;
};

Measured measure_one_step(Strategy* strategy, bool end_task);

// Builds what run_training builds for `strategy`, takes one step, and measures. The first call
// of the process runs a plain step before, so that one-time state (OpenMP's pool, the logger)
// is in no measurement.
Measured train_one_step(Strategy* strategy, bool end_task = false) {
  static const bool warm = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc allows: every tensor here in an arena
    measure_one_step(nullptr, false);
    return true;
  }();
  (void)warm;
  return measure_one_step(strategy, end_task);
}

Measured measure_one_step(Strategy* strategy, bool end_task) {
  const auto data = examples();
  std::vector<const Example*> batch;
  for (const auto& e : data) batch.push_back(&e);
  const int64_t before = heap_in_use();
  Measured m;
  {
    LlamaModel model = testing::tiny_model(kShape, 5, 0.05f);
    m.plan = plan_training_memory(model.config(), {kRows, kSeq, num_threads()}, strategy);
    AdamW optimizer(model.parameters(), AdamWOptions{});
    Gradients grads(model);
    if (strategy) strategy->begin_task(model, optimizer);
    TrainingGraph graph(model, kRows, kSeq);  // after begin_task, as run_training builds it
    optimizer_step(model, graph, grads, optimizer, {make_token_batch(batch)}, 1e-3f, 1.f, strategy);
    if (strategy && end_task) strategy->end_task(model, data);
    m.bytes = heap_in_use() - before;
  }
  return m;
}

int64_t line(const MemoryPlan& plan, const std::string& item) {
  for (const auto& l : plan.lines)
    if (l.item == item) return l.bytes;
  return 0;
}

TEST(MemoryPlan, PlainFineTuningIsWhatTheTrainerAllocates) {
  SKIP_WITHOUT_GLIBC_HEAP();
  const Measured m = train_one_step(nullptr);
  const int64_t tensors = m.plan.total() - kProcessOverhead;
  // Weights, gradients, moments and the graph's two arenas are all the trainer allocates; the
  // rest (tensor handles, RoPE tables, positions) is bookkeeping of well under 1%.
  EXPECT_NEAR(static_cast<double>(m.bytes), static_cast<double>(tensors), 0.01 * static_cast<double>(tensors))
      << m.plan.table();
  const int64_t params = testing::tiny_model(kShape, 5, 0.05f).config().parameter_count();
  EXPECT_EQ(line(m.plan, "weights"), 4 * params);
  EXPECT_EQ(line(m.plan, "AdamW moments"), 8 * params);
}

TEST(MemoryPlan, OsftStateBoundsTheDecompositionAndItsSteadyPartIsExact) {
  SKIP_WITHOUT_GLIBC_HEAP();
  for (const OsftMode mode : {OsftMode::update, OsftMode::factored}) {
    OsftOptions o;
    o.mode = mode;
    o.rank.unfreeze_rank_ratio = 0.25;  // k = 3r/4
    OsftStrategy osft(o);
    const Measured plain = train_one_step(nullptr);
    const Measured m = train_one_step(&osft);
    const int64_t measured = m.bytes - plain.bytes, planned = line(m.plan, "osft state");
    EXPECT_LE(measured, planned) << osft_mode_name(mode) << "\n" << m.plan.table();
    // What the strategy keeps (U_h, Σ_h, V_h) is counted exactly by the plan...
    EXPECT_GE(measured, 4 * osft_extra_floats(osft.plan(), o)) << osft_mode_name(mode);
    // ...and the plan's steady part is that of the decomposition it did: the per-thread work
    // is the difference between one and two threads.
    const ModelConfig c = testing::tiny_model(kShape, 5, 0.05f).config();
    const int64_t one = osft.planned_memory(c, kSeq, 1).bytes, two = osft.planned_memory(c, kSeq, 2).bytes;
    if (mode == OsftMode::update) {
      EXPECT_EQ(one - (two - one), 4 * osft_extra_floats(osft.plan(), o));
    }
  }
}

TEST(MemoryPlan, AdaptiveRanksArePlannedAtTheirLargestK) {
  OsftOptions fixed, adaptive;
  fixed.rank.effective_rank = "0.999";  // k = r − 1 (⌊0.999 r⌋ for these ranks)
  adaptive.rank.policy = RankPolicyKind::adaptive;
  const ModelConfig c = testing::tiny_model(kShape, 5, 0.05f).config();
  EXPECT_EQ(OsftStrategy(adaptive).planned_memory(c, kSeq, 2).bytes, OsftStrategy(fixed).planned_memory(c, kSeq, 2).bytes);
}

TEST(MemoryPlan, LoraStateIsExactlyWhatTheAdaptersHold) {
  SKIP_WITHOUT_GLIBC_HEAP();
  for (const LoraVariant lora_variant : {LoraVariant::seqlora, LoraVariant::olora}) {
    const std::string variant = lora_variant_name(lora_variant);
    LoraOptions o;
    o.variant = lora_variant;
    o.rank = 4;
    LoraStrategy lora(o);
    const Measured plain = train_one_step(nullptr);
    const Measured m = train_one_step(&lora);
    const int64_t planned = line(m.plan, variant + " state");
    // Within the handles and vectors around the tensors (and the first run's one-time state).
    EXPECT_NEAR(static_cast<double>(m.bytes - plain.bytes), static_cast<double>(planned), 16384.0)
        << variant << "\n" << m.plan.table();
  }
}

TEST(MemoryPlan, EwcStateBoundsTheFisherAndKeepsTheAnchor) {
  SKIP_WITHOUT_GLIBC_HEAP();
  EwcStrategy ewc(EwcOptions{});
  const Measured plain = train_one_step(nullptr);
  const Measured m = train_one_step(&ewc, /*end_task=*/true);
  const int64_t params = testing::tiny_model(kShape, 5, 0.05f).config().parameter_count();
  EXPECT_GE(m.bytes - plain.bytes, 2 * 4 * params);  // A and μ stay after the task
  EXPECT_LE(m.bytes - plain.bytes, line(m.plan, "ewc state"));
}

TEST(MemoryPlan, RefusalNamesBothNumbersAndTheLargestMicroBatchThatFits) {
  const ModelConfig c = testing::tiny_model(kShape, 5, 0.05f).config();
  const TrainingShape shape{8, 64, 1};
  const MemoryPlan plan = plan_training_memory(c, shape, nullptr);
  const int64_t fits3 = plan_training_memory(c, {3, 64, 1}, nullptr).total();
  const int64_t fits4 = plan_training_memory(c, {4, 64, 1}, nullptr).total();
  EXPECT_NO_THROW(check_plan_fits(plan, {plan.total(), "test"}, c, shape, nullptr));
  try {
    check_plan_fits(plan, {(fits3 + fits4) / 2, "test"}, c, shape, nullptr);
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.one_line(), "memory plan: the run needs " + format_mib(plan.total()) + " but " +
                                format_mib((fits3 + fits4) / 2) +
                                " is available (test) (hint: it fits with micro-batches of 3 sequences "
                                "(--max-tokens-per-batch 192, gradient accumulation keeps the effective batch))");
  }
  try {
    check_plan_fits(plan, {kProcessOverhead, "test"}, c, shape, nullptr);
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("(hint: even one 16-token sequence per micro-batch needs " +
                                format_mib(plan_training_memory(c, {1, 16, 1}, nullptr).total()) +
                                ": use a machine with more memory, or a LoRA method (sculpt cl --methods seqlora))"),
              std::string::npos)
        << e.one_line();
  }
}

// An in-run evaluation takes the training graph's room (the trainer frees the graph for it): a line
// counts only what it needs beyond the graph, and a run it alone does not fit is told so.
TEST(MemoryPlan, InRunEvaluationCountsOnlyWhatExceedsTheGraph) {
  const ModelConfig c = testing::tiny_model(kShape, 5, 0.05f).config();
  const TrainingShape shape{4, 64, 1};
  const MemoryPlan training = plan_training_memory(c, shape, nullptr);
  const int64_t graph = line(training, "saved activations") + line(training, "backward workspace");
  const MemoryPlan small = plan_training_memory(c, shape, nullptr, {}, {"in-run evaluation", graph / 2, "small"});
  EXPECT_EQ(small.total(), training.total());
  EXPECT_EQ(line(small, "in-run evaluation"), 0);
  const int64_t big_bytes = graph + (int64_t{5} << 20);
  const MemoryLine big{"in-run evaluation", big_bytes, "big"};
  const MemoryPlan with_big = plan_training_memory(c, shape, nullptr, {}, big);
  EXPECT_EQ(line(with_big, "in-run evaluation"), int64_t{5} << 20);
  EXPECT_EQ(with_big.total(), training.total() + (int64_t{5} << 20));
  // Room for the smallest training graph but not for the evaluation: the hint names it.
  const int64_t limit = plan_training_memory(c, {1, 16, 1}, nullptr).total();
  try {
    check_plan_fits(with_big, {limit, "test"}, c, shape, nullptr, {}, big);
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("(hint: the in-run evaluation alone needs " + format_mib(big_bytes) +
                                ": evaluate fewer or shorter examples"),
              std::string::npos)
        << e.one_line();
  }
}

TEST(MemoryPlan, CgroupLimitsAndSizes) {
  EXPECT_EQ(parse_cgroup_limit("max"), -1);
  EXPECT_EQ(parse_cgroup_limit(""), -1);
  EXPECT_EQ(parse_cgroup_limit("9223372036854771712"), -1);  // cgroup v1 "unlimited"
  EXPECT_EQ(parse_cgroup_limit("8589934592"), 8589934592);
  EXPECT_EQ(parse_cgroup_limit("12abc"), -1);
  EXPECT_EQ(memory_limit("3GiB").bytes, int64_t{3} << 30);
  EXPECT_EQ(memory_limit("3GiB").source, "--memory-limit");
  const MemoryLimit automatic = memory_limit("auto");
  EXPECT_GT(automatic.bytes, int64_t{64} << 20);
  EXPECT_THROW(memory_limit("lots"), Error);
  EXPECT_THROW(memory_limit("99999999999GiB"), Error);  // beyond 4 EiB, not a wrapped product
}

}  // namespace
}  // namespace sculpt
