// sculpt demo: a self-contained continual-learning experiment built from code (no files needed).
// A synthetic world of objects and tasks that each describe objects in their own sentence
// template and ask for one attribute ("The small red cup is on the table. Question: What color
// is the cup? Answer: red"; material, buyer, place, ...). All tasks share the objects, the
// question/answer format and the output position, so training on one pulls every answer towards
// its own attribute and plain fine-tuning forgets the earlier questions. The demo
//   1. writes the tasks (JSONL) and a corpus of the descriptions,
//   2. trains a SentencePiece vocabulary and pretrains a tiny Llama on the descriptions,
//   3. runs the task sequence with plain sequential fine-tuning and with OSFT,
// and prints both accuracy matrices with AA and BWT.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/experiment/runner.h"

namespace sculpt {

struct DemoOptions {
  std::string output_dir = "demo-run";
  uint64_t seed = 0;
  int64_t tasks = 3;            // questions asked in sequence (at most 5)
  int64_t train_per_task = 160;
  int64_t test_per_task = 60;
  std::vector<std::string> methods = {"seqft", "osft"};
  float learning_rate = 2e-3f;       // fine-tuning on each task
  int64_t epochs = 10;
  int64_t pretrain_steps = 800;
  float pretrain_weight_decay = 0.01f;  // AdamW decoupled decay while pretraining the base
  int64_t hidden_size = 64;           // the base Llama: 4 layers, 4 heads, SwiGLU 2.69 × hidden
  double unfreeze_rank_ratio = 0.25;  // OSFT (rank policy "fixed")
  std::string rank_policy = "fixed";  // OSFT: fixed, schedule or adaptive (DESIGN.md §1)
  bool freeze_non_targets = true;     // OSFT
  std::string eval_mode = "generate";  // or "rank" (ExperimentOptions::eval_mode)
};

// One synthetic task as prompt/completion records.
struct DemoRecord {
  std::string prompt, completion;
};
struct DemoTask {
  std::string name;
  std::vector<DemoRecord> train, test;
};
struct DemoWorld {
  std::vector<std::string> descriptions;  // every object's sentence (the pretraining corpus)
  std::vector<DemoTask> tasks;
};

// The world and its tasks for a seed (deterministic).
DemoWorld make_demo_world(uint64_t seed, int64_t tasks, int64_t train_per_task, int64_t test_per_task);

// Runs the whole demo; returns the experiment's result (also written under output_dir).
ExperimentResult run_demo(const DemoOptions& options);

}  // namespace sculpt
