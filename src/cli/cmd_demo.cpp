// sculpt demo: the built-in continual-learning experiment (experiment/demo.h), start to finish in
// a few minutes on two cores, ending with both methods' accuracy matrices, AA and BWT.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/experiment/demo.h"
#include "sculpt/experiment/report.h"

namespace sculpt::cli {

namespace fs = std::filesystem;

namespace {
struct DemoArgs {
  DemoOptions demo;
  int threads = 0;
};

void print_summary(const ExperimentResult& r) {
  std::printf("\nAccuracy (%% %s) on each task's test questions after training each task in turn:\n",
              r.eval_mode == "rank" ? "label ranking" : "exact match");
  for (const auto& m : r.methods) {
    const ClMetrics cm = method_metrics(m, r.base, r.task_names.size());
    std::printf("\n  %-6s after \\ on", m.method.c_str());
    for (const auto& t : r.task_names) std::printf(" %9s", t.c_str());
    std::printf("\n  %-17s", "base model");
    for (double a : r.base.accuracy) std::printf(" %9.1f", 100 * a);
    for (size_t i = 0; i < m.rows.size(); ++i) {
      std::printf("\n  %-17s", r.task_names[i].c_str());
      for (double a : m.rows[i].accuracy) std::printf(" %9.1f", 100 * a);
    }
    std::printf("\n  AA %.1f   BWT %+.1f", 100 * cm.average_accuracy, 100 * cm.backward_transfer);
    if (!m.rows.empty() && m.rows.back().general_perplexity >= 0)
      std::printf("   perplexity on held-out descriptions %.2f (base %.2f), KL to base %.3f",
                  m.rows.back().general_perplexity, r.base.general_perplexity, m.rows.back().general_kl);
    std::printf("\n");
  }
  std::printf("\nAA: average accuracy after the last task. BWT: change on earlier tasks since they were learned "
              "(negative = forgetting).\n");
}

void run_demo_command(DemoArgs& a) {
  set_num_threads(a.threads);
  check(a.demo.hidden_size % 8 == 0, "--hidden-size " + std::to_string(a.demo.hidden_size) + " is not a multiple of 8",
        "--hidden-size", "4 heads of an even size: try 64 or 128");
  const fs::path out(a.demo.output_dir);
  if (fs::exists(out)) {
    check(fs::is_directory(out), "exists and is not a directory", a.demo.output_dir, "choose another --output-dir");
    check(fs::is_empty(out) || fs::exists(out / "data" / "descriptions.jsonl"),
          "directory exists and is not a demo run", a.demo.output_dir, "choose another --output-dir");
    fs::remove_all(out);  // the demo always starts from scratch
  }
  const auto t0 = std::chrono::steady_clock::now();
  install_stop_handlers();
  const ExperimentResult r = run_demo(a.demo);
  if (r.interrupted) std::exit(143);
  print_summary(r);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("Finished in %.0f s. Report: %s/experiment/report.md\n", secs, a.demo.output_dir.c_str());
}
}  // namespace

void register_demo(CLI::App& app) {
  auto a = std::make_shared<DemoArgs>();
  CLI::App* cmd = app.add_subcommand("demo", "Built-in continual-learning demo: plain fine-tuning vs OSFT on a synthetic task sequence");
  cmd->add_option("-o,--output-dir", a->demo.output_dir, "Where the demo writes its data, models and report")
      ->capture_default_str();
  cmd->add_option("-s,--seed", a->demo.seed, "Seed of the synthetic world and of training")->capture_default_str();
  cmd->add_option("--tasks", a->demo.tasks, "Questions asked in sequence (1 to 5)")->capture_default_str()->check(CLI::Range(1, 5));
  cmd->add_option("--learning-rate", a->demo.learning_rate, "Fine-tuning learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--epochs", a->demo.epochs, "Epochs per task")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--pretrain-steps", a->demo.pretrain_steps, "Pretraining steps of the base model")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--pretrain-weight-decay", a->demo.pretrain_weight_decay, "AdamW weight decay while pretraining the base")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--hidden-size", a->demo.hidden_size, "Hidden size of the base model (a multiple of 8: 4 heads of an even size)")
      ->capture_default_str()
      ->check(CLI::Range(8, 1024));
  cmd->add_option("--unfreeze-rank-ratio", a->demo.unfreeze_rank_ratio, "OSFT: trainable fraction of each target's rank")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--rank-policy", a->demo.rank_policy,
                  "OSFT: fixed (--unfreeze-rank-ratio), schedule ((t-1)/n frozen at task t of n) or adaptive (the paper)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fixed", "schedule", "adaptive"}));
  cmd->add_option("--methods", a->demo.methods, "Methods to run (seqft, osft)")
      ->capture_default_str()->delimiter(',')->check(CLI::IsMember({"seqft", "osft"}));
  cmd->add_option("--eval-mode", a->demo.eval_mode,
                  "generate: exact match of greedy answers; rank: the likeliest answer of the task's label set")
      ->capture_default_str()->check(CLI::IsMember({"generate", "rank"}));
  cmd->add_flag("--shared-objects", a->demo.shared_objects,
                "Every task describes the same objects (inputs overlap more; OSFT keeps less: docs/demo-sweep.md)");
  cmd->add_flag("!--train-non-targets", a->demo.freeze_non_targets, "OSFT: let embeddings, norms and head train freely");
  cmd->add_option("--threads", a->threads, "Threads for compute (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->callback([a] { run_demo_command(*a); });
}

}  // namespace sculpt::cli
