// sculpt cl: a sequence of tasks with one or more continual-learning methods, evaluated on every
// task after every task, with reports (experiment/runner.h, experiment/report.h).
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "osft_flags.h"
#include "sculpt/cl/methods.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/experiment/report.h"
#include "sculpt/experiment/runner.h"
#include "sculpt/experiment/tasks.h"
#include "train_flags.h"

namespace sculpt::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
struct ClArgs {
  TrainOptions train;
  std::string benchmark, order, general_eval;
  std::vector<std::string> task_names, task_specs, methods = {"seqft", "osft"};
  TaskDataOptions data;
  OsftFlags osft;
  EwcOptions ewc;
  ReplayOptions replay;
  LoraOptions lora;
  int64_t general_samples = 32, general_context = 128, eval_batch = 16;
  std::string eval_mode = "generate";
  int threads = 0;
  float lora_learning_rate = 0;  // 0: --learning-rate
  ClArgs() {
    train.learning_rate = 1e-4f;
    train.logging_steps = 10;
  }
};

void run_cl(ClArgs& a) {
  set_num_threads(a.threads);
  check(!fs::exists(a.train.output_dir) || fs::is_directory(a.train.output_dir), "exists and is not a directory",
        a.train.output_dir, "choose another --output-dir");
  for (const auto& m : a.methods) check_method_name(m);
  // The task list: an order of the benchmark, names in it, or task specs.
  std::vector<std::string> specs = a.task_specs;
  if (!a.order.empty() || !a.task_names.empty()) {
    check(!a.benchmark.empty(), "--order and --tasks need --benchmark", "cl", "give the CL_Benchmark directory");
    check(a.order.empty() || a.task_names.empty(), "--order and --tasks both given", "cl", "give one of them");
    const auto names = a.order.empty() ? a.task_names : benchmark_order(a.benchmark, a.order);
    for (const auto& n : names) specs.push_back(benchmark_task_dir(a.benchmark, n));
  }
  check(!specs.empty(), "no tasks", "cl", "give --benchmark DIR --order order1, or --task NAME=FILE.jsonl ...");

  a.data.seed = a.train.seed;
  a.data.model_path = a.train.model_path;
  // The model is needed here only for its context length and 'self' general-ability texts; it is
  // freed before the experiment, which loads the copies it trains and evaluates against.
  auto model = std::make_unique<LlamaModel>(load_model(a.train.model_path));
  auto tokenizer = load_tokenizer(a.train.model_path);
  a.data.max_seq_len = std::min(a.data.max_seq_len, model->config().max_position_embeddings);
  std::vector<ClTask> tasks;
  for (const auto& s : specs) tasks.push_back(load_task(s, *tokenizer, a.data));

  ExperimentOptions o;
  o.output_dir = a.train.output_dir;
  o.methods = a.methods;
  o.train = a.train;
  o.eval_batch = a.eval_batch;
  o.eval_mode = a.eval_mode;
  if (a.lora_learning_rate > 0)  // adapters usually want a larger rate than full fine-tuning
    for (const char* m : {"seqlora", "inclora", "olora"}) o.method_learning_rate[m] = a.lora_learning_rate;
  if (!a.general_eval.empty()) {
    const int64_t context = std::min(a.general_context, model->config().max_position_embeddings - 1);
    o.general = general_eval_texts(a.general_eval, *model, *tokenizer, a.general_samples, context, 1234);
    log_info("general ability: ", o.general.size(), " sequences from ", a.general_eval);
  }
  model.reset();
  const OsftOptions osft_options = a.osft.resolve();
  json task_json = json::array();
  for (size_t i = 0; i < tasks.size(); ++i)
    task_json.push_back({{"name", tasks[i].name}, {"source", fs::absolute(specs[i]).string()},
                         {"train", tasks[i].train.size()}, {"test", tasks[i].test.size()}});
  o.description = train_options_json(a.train);
  o.description.erase("output_dir");
  o.description.update({{"command", "cl"},
                        {"tasks", task_json},
                        {"methods", a.methods},
                        {"max_train_samples", a.data.max_train_samples},
                        {"max_train_per_class", a.data.max_train_per_class},
                        {"max_test_samples", a.data.max_test_samples},
                        {"max_seq_len", a.data.max_seq_len},
                        {"general_eval", a.general_eval},
                        {"eval_mode", a.eval_mode},
                        {"general_eval_samples", o.general.size()},
                        {"ewc", {{"lambda", a.ewc.lambda}, {"fisher_samples", a.ewc.fisher_samples}}},
                        {"replay", {{"fraction", a.replay.fraction}}},
                        {"lora", {{"rank", a.lora.rank}, {"alpha", a.lora.alpha}, {"dropout", a.lora.dropout},
                                  {"learning_rate", a.lora_learning_rate > 0 ? a.lora_learning_rate
                                                                             : a.train.learning_rate},
                                  {"targets", a.lora.target_patterns}, {"olora_lambda1", a.lora.lambda1},
                                  {"olora_lambda2", a.lora.lambda2}}}});
  const bool uses_osft = std::find(a.methods.begin(), a.methods.end(), "osft") != a.methods.end();
  if (uses_osft)
    o.description["osft"] = {{"mode", osft_mode_name(osft_options.mode)},
                             {"projection", projection_name(osft_options.projection)},
                             {"rank_policy", RankPolicy(osft_options.rank).describe()},
                             {"target_patterns", osft_options.target_patterns},
                             {"freeze_non_targets", osft_options.freeze_non_targets}};
  else
    check(a.osft.unfreeze_opt->count() == 0 && a.osft.effective_opt->count() == 0,
          "OSFT rank options given without the osft method", "cl", "add osft to --methods");
  a.ewc.seed = a.replay.seed = a.lora.seed = a.train.seed;
  const MethodSettings settings{osft_options, a.ewc, a.replay, a.lora};
  const StrategyFactory factory = [&](const std::string& m) { return make_method(m, settings); };
  install_stop_handlers();
  const ExperimentResult r = run_experiment(a.train.model_path, *tokenizer, tasks, o, factory);
  if (r.interrupted) {
    log_info("stopped on request; run the same command again to resume");
    std::exit(143);
  }
  std::printf("%s", report_markdown(r).c_str());
  log_info("wrote ", (fs::path(o.output_dir) / "report.md").string());
}
}  // namespace

void register_cl(CLI::App& app) {
  auto a = std::make_shared<ClArgs>();
  CLI::App* cmd = app.add_subcommand("cl", "Continual learning: train a task sequence with several methods and compare");
  TrainOptions& t = a->train;
  // Handled before parsing (json_config.h); declared here for --help.
  std::string experiment_unused;
  cmd->add_option("--experiment", experiment_unused, "Experiment file (JSON): keys are long flag names; command-line flags win");
  cmd->add_option("-m,--model", t.model_path, "Base model (HF directory, GGUF file or llama2.c .bin)")->required();
  cmd->add_option("-o,--output-dir", t.output_dir, "Experiment directory (re-run the same command to resume)")->required();
  cmd->add_option("--benchmark", a->benchmark, "CL_Benchmark directory (O-LoRA layout)");
  cmd->add_option("--order", a->order, "Task order from the benchmark's task_orders.json (e.g. order1)");
  cmd->add_option("--tasks", a->task_names, "Task names in the benchmark, in order")->delimiter(',');
  cmd->add_option("--task", a->task_specs, "A task: CL_Benchmark task directory or NAME=TRAIN.jsonl[:TEST.jsonl] (repeatable)");
  cmd->add_option("--methods", a->methods, "Methods to compare: " + method_names())
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--max-train-samples", a->data.max_train_samples, "Training examples per task (seeded subset; 0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-train-per-class", a->data.max_train_per_class, "Training examples per label (seeded; 0: no cap)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-test-samples", a->data.max_test_samples, "Test examples per task (seeded subset; 0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-seq-len", a->data.max_seq_len, "Tokens per example; prompts are cut to fit")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--general-eval", a->general_eval,
                  "General-ability text (file or directory), or 'self' for samples of the base model");
  cmd->add_option("--general-eval-samples", a->general_samples, "Sequences of general-ability text")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--general-eval-context", a->general_context, "Tokens per general-ability sequence")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--eval-batch", a->eval_batch, "Prompts decoded together in evaluation")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--eval-mode", a->eval_mode,
                  "generate: exact match of greedy generations (the O-LoRA protocol); rank: log-likelihood "
                  "ranking over each task's label set")
      ->capture_default_str()->check(CLI::IsMember({"generate", "rank"}));
  auto* ewc = cmd->add_option_group("EWC", "Elastic Weight Consolidation (method ewc)");
  ewc->add_option("--ewc-lambda", a->ewc.lambda, "Penalty strength λ")->capture_default_str()->check(CLI::NonNegativeNumber);
  ewc->add_option("--ewc-samples", a->ewc.fisher_samples, "Examples per task for the diagonal Fisher")
      ->capture_default_str()->check(CLI::PositiveNumber);
  auto* replay = cmd->add_option_group("Replay", "Experience replay (method replay)");
  replay->add_option("--replay-fraction", a->replay.fraction, "Fraction of each earlier task's training examples mixed in")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  auto* lora = cmd->add_option_group("LoRA", "LoRA baselines (methods seqlora, inclora, olora)");
  lora->add_option("--lora-rank", a->lora.rank, "Adapter rank r")->capture_default_str()->check(CLI::PositiveNumber);
  lora->add_option("--lora-alpha", a->lora.alpha, "Adapter scale alpha (the update is alpha/r · B·A)")->capture_default_str()->check(CLI::PositiveNumber);
  lora->add_option("--lora-learning-rate", a->lora_learning_rate,
                   "Learning rate of the LoRA methods (default: --learning-rate)")
      ->check(CLI::PositiveNumber);
  lora->add_option("--lora-dropout", a->lora.dropout, "Dropout on the adapter input (only 0 is supported)")->capture_default_str()->check(CLI::NonNegativeNumber);
  lora->add_option("--lora-targets", a->lora.target_patterns, "Regexes of the adapted matrices (default: q_proj, v_proj)")
      ->take_all();
  lora->add_option("--olora-lambda1", a->lora.lambda1, "O-LoRA orthogonality weight λ1")->capture_default_str();
  lora->add_option("--olora-lambda2", a->lora.lambda2, "O-LoRA L2 weight λ2 on the new adapter")->capture_default_str();
  add_train_option_flags(cmd, t);
  add_osft_flags(cmd, a->osft);
  cmd->add_option("--threads", a->threads, "Threads for compute (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->callback([a] { run_cl(*a); });
}

}  // namespace sculpt::cli
