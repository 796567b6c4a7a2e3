// sculpt demo: a self-contained continual-learning experiment built from code (no files needed).
// A synthetic world in which each task describes objects in its own sentence template and asks
// for one attribute ("The small red cup is on the table.\nColor of the cup:" → " red"; material,
// buyer, place, feeling). All tasks share the language, the question/answer format, the model and
// the answer position, so training on one pulls every answer towards its own label set and plain
// fine-tuning forgets the earlier questions. Each task describes its own objects and ends its
// question in its own words (so the tasks' inputs differ, as different tasks' do); with
// shared_objects every task describes the same objects instead, where OSFT's protection is
// weaker (docs/demo-sweep.md). The demo
//   1. writes the tasks (JSONL) and a corpus of the training descriptions,
//   2. trains a SentencePiece vocabulary and pretrains a tiny Llama on the descriptions (and on
//      the first task's questions: a skill of the base for OSFT to keep),
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
  float learning_rate = 1e-3f;       // fine-tuning on each task
  int64_t epochs = 30;
  int64_t pretrain_steps = 800;
  float pretrain_weight_decay = 0.01f;  // AdamW decoupled decay while pretraining the base
  int64_t hidden_size = 64;           // the base Llama: 4 layers, 4 heads, SwiGLU 2.69 × hidden
  double unfreeze_rank_ratio = 0.5;   // OSFT (rank policy "fixed")
  std::string rank_policy = "fixed";  // OSFT: fixed, schedule or adaptive (DESIGN.md §1)
  bool freeze_non_targets = true;     // OSFT
  std::string eval_mode = "generate";  // or "rank" (ExperimentOptions::eval_mode)
  bool shared_objects = false;        // every task describes the same objects and modifiers
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
  std::vector<std::string> descriptions;  // the training questions' sentences (the pretraining corpus)
  std::vector<std::string> held_out;      // the test questions' sentences (never trained on)
  std::vector<DemoTask> tasks;
};

// The world and its tasks for a seed (deterministic). Within a task no two questions describe the
// same (object, modifier, value); more than the task has is an error.
DemoWorld make_demo_world(uint64_t seed, int64_t tasks, int64_t train_per_task, int64_t test_per_task,
                          bool shared_objects = false);

// Runs the whole demo; returns the experiment's result (also written under output_dir).
ExperimentResult run_demo(const DemoOptions& options);

}  // namespace sculpt
