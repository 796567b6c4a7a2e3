// The training step allocates nothing: after warm-up, a step (forward, backward, clipping, AdamW,
// and OSFT's projection) makes no call to operator new. This binary replaces the global operator
// new with a counting one, so it runs on its own, outside the other test executables.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "sculpt/cl/osft/osft.h"
#include "sculpt/core/rng.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/optim/adamw.h"
#include "sculpt/train/step.h"

namespace {
std::atomic<long> allocations{0};

void* counted(std::size_t bytes, std::size_t align) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  bytes = bytes ? (bytes + align - 1) / align * align : align;
  if (void* p = std::aligned_alloc(align, bytes)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t bytes) { return counted(bytes, __STDCPP_DEFAULT_NEW_ALIGNMENT__); }
void* operator new[](std::size_t bytes) { return counted(bytes, __STDCPP_DEFAULT_NEW_ALIGNMENT__); }
void* operator new(std::size_t bytes, std::align_val_t align) { return counted(bytes, static_cast<std::size_t>(align)); }
void* operator new[](std::size_t bytes, std::align_val_t align) {
  return counted(bytes, static_cast<std::size_t>(align));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace sculpt {
namespace {

// A small Llama with grouped-query attention, every bias and an untied head, so that every
// branch of the backward runs; two micro-batches, so that both gradient writes run.
struct TrainingCase {
  LlamaModel model;
  std::vector<TokenBatch> micro_batches;
  static ModelConfig config() {
    ModelConfig c;
    c.hidden_size = 32, c.intermediate_size = 48, c.num_layers = 2, c.num_heads = 4, c.num_kv_heads = 2;
    c.head_dim = 8, c.vocab_size = 64, c.max_position_embeddings = 32, c.tie_word_embeddings = false;
    c.qkv_bias = c.o_bias = c.mlp_bias = true;
    return c;
  }
  TrainingCase() : model(config()) {
    Rng rng(3);
    init_random(model, rng, 0.05f);
    for (int m = 0; m < 2; ++m) {
      TokenBatch b;
      b.batch = 3, b.seq = 20;
      for (int64_t i = 0; i < b.batch * b.seq; ++i) {
        b.tokens.push_back(static_cast<int32_t>(rng.below(64)));
        b.targets.push_back(static_cast<int32_t>(rng.below(64)));
        b.loss_mask.push_back(i % 5 == 0 ? 0.f : 1.f);
      }
      micro_batches.push_back(b);
    }
  }
};

long allocations_in_steps(TrainingCase& s, Strategy* strategy) {
  TrainingGraph graph(s.model, 3, 20);
  Gradients grads(s.model);
  AdamW adam(s.model.parameters(), {});
  if (strategy) strategy->begin_task(s.model, adam);
  for (int warm = 0; warm < 2; ++warm)  // thread pools, thread-local buffers
    optimizer_step(s.model, graph, grads, adam, s.micro_batches, 1e-3f, 1.f, strategy, /*measure=*/false);
  const long before = allocations.load();
  for (int step = 0; step < 3; ++step)
    optimizer_step(s.model, graph, grads, adam, s.micro_batches, 1e-3f, 1.f, strategy, /*measure=*/false);
  return allocations.load() - before;
}

TEST(StepAllocations, CountingOperatorNewSeesAllocations) {  // the counter itself works
  const long before = allocations.load();
  auto* v = new std::vector<int>(100);
  delete v;
  EXPECT_EQ(allocations.load() - before, 2);
}

TEST(StepAllocations, PlainStepAllocatesNothing) {
  TrainingCase s;
  EXPECT_EQ(allocations_in_steps(s, nullptr), 0);
}

TEST(StepAllocations, OsftUpdateStepAllocatesNothing) {
  TrainingCase s;
  OsftOptions o;
  o.rank.unfreeze_rank_ratio = 0.25;
  OsftStrategy osft(o);
  EXPECT_EQ(allocations_in_steps(s, &osft), 0);
}

}  // namespace
}  // namespace sculpt
