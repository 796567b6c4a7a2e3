// The continual-learning runner: one or more methods, each trained on the same task sequence
// from the same base model with the same data, order and budget, evaluated on every task's test
// split after every task (and the base model once before any), with general-ability retention.
// Layout of the output directory:
//   experiment.json              what was run (tasks, methods, every option)
//   base.json                    the base model's row (accuracy on every task, general ability)
//   <method>/stage-<i>-<task>/   the training run of stage i (metrics.jsonl, checkpoints, final/)
//   <method>/progress.json       rows finished so far: the commit point of each stage
//   results.json, report.md, <method>/accuracy_matrix.csv, *.svg   (experiment/report.h)
// Re-running the same command resumes: finished stages are skipped (the model is reloaded from
// the last stage's final/, the strategy's between-task state from its strategy/ folder), and an
// interrupted stage continues from its newest checkpoint.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sculpt/cl/strategy.h"
#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"
#include "sculpt/text/tokenizer.h"
#include "sculpt/train/trainer.h"

namespace sculpt {

struct ClTask {
  std::string name;
  std::vector<Example> train, test;
};

struct ExperimentOptions {
  std::string output_dir;
  std::vector<std::string> methods;
  TrainOptions train;  // per stage; output_dir and resume are set by the runner
  std::map<std::string, float> method_learning_rate;  // per-method override of train.learning_rate
  int64_t eval_batch = 16;
  // How a test answer is scored: "generate" (greedy generation, exact match after trimming and
  // lower-casing: the O-LoRA protocol) or "rank" (log-likelihood ranking over the task's label
  // set, eval/label_ranking.h).
  std::string eval_mode = "generate";
  std::vector<Example> general;  // general-ability text (packed sequences); empty: not measured
  nlohmann::json description;    // recorded in experiment.json (must not change on resume)
};

// Makes a method's strategy (one instance for the whole sequence).
using StrategyFactory = std::function<std::unique_ptr<Strategy>(const std::string& method)>;

// One evaluation point: accuracy on every task, general ability.
struct EvalRow {
  std::vector<double> accuracy;
  double general_perplexity = -1, general_kl = -1;
  double train_seconds = 0;
  std::vector<std::string> matched;  // per task: ExactMatchResult::matched, for paired bootstrap intervals
};

struct MethodResult {
  std::string method;
  std::vector<EvalRow> rows;  // one per stage (T for sequential methods, 1 for joint ones)
  bool complete = false;
};

struct ExperimentResult {
  std::vector<std::string> task_names;
  std::string eval_mode = "generate";  // ExperimentOptions::eval_mode
  EvalRow base;
  std::vector<MethodResult> methods;
  bool interrupted = false;
};

// Runs (or resumes) every method. Returns with interrupted = true after Ctrl-C/SIGTERM (the
// current stage's checkpoint is saved).
ExperimentResult run_experiment(const std::string& model_path, const Tokenizer& tokenizer,
                                const std::vector<ClTask>& tasks, const ExperimentOptions& options,
                                const StrategyFactory& make_strategy);

nlohmann::json eval_row_json(const EvalRow& row);
EvalRow eval_row_from_json(const nlohmann::json& j);

}  // namespace sculpt
