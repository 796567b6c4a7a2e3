// sculpt plan: the OSFT plan of a model (per-matrix rank, σ_k, energy kept) and the memory
// budget, without training. Writes osft_plan.json.
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "osft_flags.h"
#include "train_flags.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/data/readers.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/train/memory_plan.h"

namespace sculpt::cli {

namespace {
struct PlanArgs {
  std::string model, output = "osft_plan.json";
  int64_t batch = 8, seq = 512;
  int threads = 0;
  std::string memory_limit = "auto";
  Precision precision = Precision::fp32;
  OsftFlags osft;
};

void run_plan(const PlanArgs& a) {
  set_num_threads(a.threads);
  LlamaModel model = load_model(a.model);
  OsftOptions o = a.osft.resolve();
  Dataset calibration;
  if (o.rank.policy == RankPolicyKind::adaptive) {
    check(!a.osft.calibration_data.empty(), "the adaptive rank policy needs calibration samples", "plan",
          "pass --calibration-data FILE_OR_TASK_DIR");
    auto tokenizer = load_tokenizer(a.model);
    ReaderOptions ro;
    ro.model_path = a.model;
    ro.example.max_seq_len = std::min<int64_t>(a.seq, model.config().max_position_embeddings);
    ro.max_samples = a.osft.options.calibration_samples;
    calibration = read_dataset(a.osft.calibration_data, *tokenizer, ro);
    o.calibration = &calibration.examples;
  }
  const auto plan = make_osft_plan(model, o);
  std::printf("%-48s %11s %5s %5s %10s %8s %10s\n", "matrix", "shape", "r", "k", "sigma_k", "energy", "importance");
  int64_t frozen = 0, total = 0;
  for (const auto& p : plan) {
    char shape[32];
    std::snprintf(shape, sizeof shape, "%lldx%lld", static_cast<long long>(p.rows), static_cast<long long>(p.cols));
    char importance[32] = "-";
    if (p.importance >= 0) std::snprintf(importance, sizeof importance, "%.3f", p.importance);
    std::printf("%-48s %11s %5lld %5lld %10.4f %7.2f%% %10s\n", p.name.c_str(), shape, static_cast<long long>(p.rank),
                static_cast<long long>(p.frozen), p.sigma_k, 100.0 * p.energy_kept, importance);
    frozen += p.frozen, total += p.rank;
  }
  const ModelConfig& c = model.config();
  std::printf("\n%lld of %lld singular directions protected (%.1f%%)\n", static_cast<long long>(frozen),
              static_cast<long long>(total), total ? 100.0 * frozen / total : 0.0);
  // The table `sculpt train --method osft` checks at start-up (its OSFT line bounds what any task
  // of the policy can freeze; the ranks above are this plan's).
  const OsftStrategy strategy(o);
  const TrainingShape shape{a.batch, a.seq, num_threads(), a.precision};
  const MemoryPlan memory = plan_training_memory(c, shape, &strategy);
  const MemoryLimit limit = memory_limit(a.memory_limit);
  std::printf("\nmemory plan, %s, micro-batch %lld x %lld tokens, %d threads:\n%s",
              precision_name(a.precision), static_cast<long long>(a.batch), static_cast<long long>(a.seq), shape.threads,
              memory.table().c_str());
  std::printf("%s available (%s): %s\n", format_mib(limit.bytes).c_str(), limit.source.c_str(),
              memory.total() <= limit.bytes ? "fits" : "does not fit");
  std::fflush(stdout);
  write_text_atomic(a.output, osft_plan_json(plan, o).dump(2) + "\n");
  log_info("wrote ", a.output);
}
}  // namespace

void register_plan(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* cmd = app.add_subcommand("plan", "Show and save the OSFT plan (ranks, spectra, memory) without training");
  cmd->add_option("-m,--model", a->model, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("-o,--output", a->output, "Where to write the plan")->capture_default_str();
  cmd->add_option("--batch", a->batch, "Micro-batch sequences for the memory estimate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-seq-len", a->seq, "Sequence length for the memory estimate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--memory-limit", a->memory_limit, "Memory to compare the plan with: auto (cgroup limit, else physical memory) or a size")
      ->capture_default_str()
      ->check(byte_size_validator("--memory-limit", true));
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  add_precision_flag(cmd, a->precision);
  add_osft_flags(cmd, a->osft);
  cmd->callback([a] { run_plan(*a); });
}

}  // namespace sculpt::cli
