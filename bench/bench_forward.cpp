// Forward-pass throughput (tokens/s) of a random model with the performance issue's reference
// config (hidden 256, 4 layers, 4 heads, SwiGLU 688, vocab 4096) at batch 8 × 128, and
// KV-cache decoding against re-running the whole prefix.
#include <benchmark/benchmark.h>

#include "sculpt/core/rng.h"
#include "sculpt/model/forward.h"
#include "sculpt/model/llama.h"

namespace {

sculpt::ModelConfig reference_config() {
  sculpt::ModelConfig c;
  c.hidden_size = 256, c.intermediate_size = 688, c.num_layers = 4, c.num_heads = 4, c.num_kv_heads = 4;
  c.head_dim = 64, c.vocab_size = 4096, c.max_position_embeddings = 1024;
  return c;
}

const sculpt::LlamaModel& model() {
  static sculpt::LlamaModel m = [] {
    sculpt::LlamaModel x(reference_config());
    sculpt::Rng rng(0);
    sculpt::init_random(x, rng);
    return x;
  }();
  return m;
}

std::vector<int32_t> tokens(int64_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  sculpt::Rng rng(1);
  for (auto& x : t) x = static_cast<int32_t>(rng.below(4096));
  return t;
}

void BM_ForwardBatch8x128(benchmark::State& state) {
  sculpt::LlamaForward forward(model(), 8, 128, 128);
  auto t = tokens(8 * 128);
  for (auto _ : state) benchmark::DoNotOptimize(forward.logits_all(t, 8, 128).data());
  state.counters["tok/s"] = benchmark::Counter(8 * 128, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_ForwardBatch8x128)->Unit(benchmark::kMillisecond)->UseRealTime();

// 64 tokens decoded one at a time after a 64-token prompt, batch 8.
void BM_DecodeWithKvCache(benchmark::State& state) {
  sculpt::LlamaForward forward(model(), 8, 64, 128);
  auto prompt = tokens(8 * 64);
  std::vector<int64_t> lengths(8, 64), ones(8, 1);
  std::vector<int32_t> next(8, 7);
  for (auto _ : state) {
    sculpt::KVCache cache(model().config(), 8, 128);
    forward.step(prompt, 8, 64, lengths, cache);
    for (int i = 0; i < 64; ++i) benchmark::DoNotOptimize(forward.step(next, 8, 1, ones, cache).data());
  }
  state.counters["new tok/s"] = benchmark::Counter(8 * 64, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_DecodeWithKvCache)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same 64 new tokens by re-running the growing prefix each time (no cache).
void BM_DecodeNaivePrefix(benchmark::State& state) {
  sculpt::LlamaForward forward(model(), 8, 128, 128);
  auto all = tokens(8 * 128);
  for (auto _ : state)
    for (int len = 64; len < 128; ++len) {
      std::vector<int32_t> prefix;
      for (int b = 0; b < 8; ++b) prefix.insert(prefix.end(), all.begin() + b * 128, all.begin() + b * 128 + len);
      benchmark::DoNotOptimize(forward.logits_all(prefix, 8, len).data());
    }
  state.counters["new tok/s"] = benchmark::Counter(8 * 64, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_DecodeNaivePrefix)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
