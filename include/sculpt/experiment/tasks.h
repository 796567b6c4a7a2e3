// Task data for the continual-learning runner: CL_Benchmark tasks by name and order, JSONL task
// files, seeded caps, and the general-ability text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/data/readers.h"
#include "sculpt/experiment/runner.h"

namespace sculpt {

struct TaskDataOptions {
  int64_t max_train_samples = 0;      // per task, seeded subset (0: all)
  int64_t max_train_per_class = 0;    // per label, seeded subset (0: no cap)
  int64_t max_test_samples = 200;     // per task (0: all)
  int64_t max_seq_len = 512;
  uint64_t seed = 0;
  std::string model_path;  // whose chat template renders chat tasks (as train renders them)
};

// The task names of `order` in <benchmark>/task_orders.json.
std::vector<std::string> benchmark_order(const std::string& benchmark_dir, const std::string& order);
// <benchmark>/<group>/<name> for a task name (error naming the benchmark when absent or ambiguous).
std::string benchmark_task_dir(const std::string& benchmark_dir, const std::string& name);

// Loads one task: a CL_Benchmark task directory (train and test splits), or "NAME=TRAIN.jsonl[:TEST.jsonl]"
// prompt/completion or chat files (without a test file, the training file's seeded 10 % is the test).
ClTask load_task(const std::string& spec, const Tokenizer& tokenizer, const TaskDataOptions& options);

// At most `per_class` examples per distinct target text, chosen by a seeded shuffle, order kept.
std::vector<Example> cap_per_class(const std::vector<Example>& examples, int64_t per_class, uint64_t seed);

// General-ability text: a file or directory (text corpus, packed into `context`-token sequences)
// or "self": `count` samples drawn from the model itself (temperature 1, fixed seed) — the
// model's own domain, e.g. stories for stories260K. At most `count` sequences.
std::vector<Example> general_eval_texts(const std::string& source, const LlamaModel& model, const Tokenizer& tokenizer,
                                        int64_t count, int64_t context, uint64_t seed);

}  // namespace sculpt
