// The training loop shared by every command: batches → optimizer steps → progress lines,
// metrics.jsonl, periodic checkpoints, resume, SIGTERM handling and the final HF export.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "sculpt/cl/strategy.h"
#include "sculpt/core/memory.h"
#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

struct TrainOptions {
  std::string model_path;
  std::string output_dir;
  // Optimisation (names follow the public OSFT trainers).
  float learning_rate = 1e-5f;
  int64_t num_epochs = 1;
  int64_t max_steps = 0;  // > 0 overrides num_epochs
  int64_t warmup_steps = 0;
  std::string lr_scheduler = "cosine";
  int64_t effective_batch_size = 8;
  int64_t max_tokens_per_batch = 0;  // 0: effective_batch_size × longest example (no accumulation)
  float weight_decay = 0.f, beta1 = 0.9f, beta2 = 0.95f, epsilon = 1e-8f, max_grad_norm = 1.f;
  uint64_t seed = 42;
  // Checkpoints and output.
  int64_t save_steps = 0;        // 0: only the final export
  int64_t save_total_limit = 2;  // complete checkpoints kept
  std::string resume;            // "" none, "auto" newest complete checkpoint, or a checkpoint directory
  std::string save_dtype;        // "" = the input dtype
  std::string max_shard_size = "2GB";  // exported safetensors above this are sharded with an index
  int64_t logging_steps = 1;
  int64_t eval_steps = 0;        // > 0: evaluate every N steps (and at the end)
  // Memory the run may plan for: "auto" (cgroup limit or physical memory) or a size (8GiB).
  std::string memory_limit = "auto";
  Precision precision = Precision::fp32;  // the training graph's products (model/precision.h)
  // What the caller keeps in memory beside the run (`sculpt cl`: the base model), planned with it.
  std::vector<MemoryLine> held_beside;
};

// Evaluation during training: `run` is called at evaluation points with the model under training
// and returns metrics to log (e.g. {"eval_loss": ..., "eval_exact_match": ...}); `memory` is what
// one call holds at its peak. The training graph is freed while it runs, so the memory plan counts
// the larger of the two.
struct EvalHook {
  std::function<nlohmann::json(int64_t step, const LlamaModel& model)> run;
  MemoryLine memory;
  explicit operator bool() const { return static_cast<bool>(run); }
};

struct TrainResult {
  int64_t steps_done = 0;
  bool interrupted = false;  // stopped by SIGTERM/SIGINT after saving a checkpoint
  double final_loss = 0;
  std::string export_dir;
};

// `dataset_fingerprint` identifies the data for resume checks; `resolved` (all options after
// defaults) is written to training_params.json.
// `strategy` (may be null: plain fine-tuning) starts its task before the first step.
TrainResult run_training(LlamaModel& model, const Tokenizer& tokenizer, const std::vector<Example>& examples,
                         const TrainOptions& options, const nlohmann::json& resolved, const EvalHook& eval = {},
                         Strategy* strategy = nullptr);

// Copies tokenizer and generation files of `model_path` into `dir` so it loads on its own.
void copy_tokenizer_files(const std::string& model_path, const Tokenizer& tokenizer, const std::string& dir);

// Installs SIGTERM/SIGINT handlers that ask the loop to stop at the next step boundary.
void install_stop_handlers();
bool stop_requested();

}  // namespace sculpt
