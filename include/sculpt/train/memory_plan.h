// The memory a training run will hold, computed from the model config, the method, the batch
// shape and the thread count before anything large is allocated, and the memory the process may
// use (the --memory-limit flag, else the cgroup limit, else physical memory). A run whose plan
// exceeds the limit is refused at start-up with both numbers and what would fit; `sculpt plan`
// prints the same table. Every line counts what the code allocates and writes (Tensor::zeros fills
// its memory; an arena's pages count once written), so the plan is an upper bound of the peak;
// the process adds its code, the tokenizer and the data (kProcessOverhead).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/core/memory.h"
#include "sculpt/io/model_config.h"
#include "sculpt/model/precision.h"

namespace sculpt {

class Strategy;

struct MemoryPlan {
  std::vector<MemoryLine> lines;
  int64_t total() const;
  // One row per line and the total, MiB with one decimal, for the log and `sculpt plan`.
  std::string table() const;
};

// What the run trains: micro-batches of at most `rows` sequences of at most `seq` tokens.
struct TrainingShape {
  int64_t rows = 1, seq = 1;
  int threads = 1;
  Precision precision = Precision::fp32;
};

// Code, libraries, tokenizer and data held beside the tensors: the measured peaks exceed the
// tensors' lines by 15 MiB (a 20 M-parameter model, tests/cli/memory_plan_test.py) to 25 MiB
// (SmolLM2-135M and its 49k-token tokenizer); 96 MiB leaves room for larger vocabularies and data,
// and in bf16 for oneDNN's compiled kernels (at most 128 specialised shapes, ~27 MiB: bf16_gemm.cpp)
// and its run-time gemm's packing buffers (~25 MiB at SmolLM2's held-out loss).
constexpr int64_t kProcessOverhead = int64_t{96} << 20;

// Weights, gradients, AdamW moments, the method's own state (strategy->planned_memory), the
// training graph's saved activations and backward workspace, and `held`: what the caller keeps
// beside the run (`sculpt cl`: the base model it evaluates against). `strategy` may be null (plain
// fine-tuning). Two phases take the room of others and add a line only for what they need beyond
// it: the strategy's begin-task pass (before its state and the graph exist) and `evaluation`, what
// an in-run evaluation holds (the trainer frees the graph for it).
MemoryPlan plan_training_memory(const ModelConfig& config, const TrainingShape& shape, const Strategy* strategy,
                                const std::vector<MemoryLine>& held = {}, const MemoryLine& evaluation = {});

struct MemoryLimit {
  int64_t bytes = 0;
  std::string source;  // "--memory-limit", "cgroup memory.max", "physical memory"
};

// `flag`: "" or "auto" → the cgroup limit (v2 memory.max, v1 memory.limit_in_bytes) when it is
// below physical memory, else physical memory; otherwise a size as --max-shard-size reads it.
MemoryLimit memory_limit(const std::string& flag);

// Throws Error when the plan exceeds the limit: the one line names both numbers, the hint the
// largest micro-batch that fits (or that even the weights alone do not).
void check_plan_fits(const MemoryPlan& plan, const MemoryLimit& limit, const ModelConfig& config,
                     const TrainingShape& shape, const Strategy* strategy, const std::vector<MemoryLine>& held = {},
                     const MemoryLine& evaluation = {});

}  // namespace sculpt
