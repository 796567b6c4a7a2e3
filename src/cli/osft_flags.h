// The OSFT flags shared by `sculpt train --method osft` and `sculpt plan`.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sculpt/cl/osft/osft.h"

namespace sculpt::cli {

struct OsftFlags {
  OsftOptions options;
  double unfreeze_rank_ratio = -1;  // CLI11 fills these; "given" is read from the option count
  std::string effective_rank;
  std::string calibration_data;   // adaptive: samples of the previous task
  // The enums' names as the flags take them, resolved once (defaults: OsftOptions').
  std::string mode = osft_mode_name(OsftOptions{}.mode), projection = projection_name(OsftOptions{}.projection),
              policy = rank_policy_name(RankPolicyOptions{}.policy);
  CLI::Option* unfreeze_opt = nullptr;
  CLI::Option* effective_opt = nullptr;
  // Resolves "given / not given" into the optional fields.
  OsftOptions resolve() const {
    OsftOptions o = options;
    o.mode = osft_mode_from_name(mode);
    o.projection = projection_from_name(projection);
    o.rank.policy = rank_policy_from_name(policy);
    if (unfreeze_opt && unfreeze_opt->count() > 0) o.rank.unfreeze_rank_ratio = unfreeze_rank_ratio;
    if (effective_opt && effective_opt->count() > 0) o.rank.effective_rank = effective_rank;
    return o;
  }
};

inline void add_osft_flags(CLI::App* cmd, OsftFlags& f) {
  auto* group = cmd->add_option_group("OSFT", "Orthogonal Subspace Fine-Tuning (with --method osft)");
  f.unfreeze_opt = group->add_option("--unfreeze-rank-ratio", f.unfreeze_rank_ratio,
                                     "Trainable fraction u of each target's rank: k = floor(r(1-u)) directions frozen");
  f.effective_opt = group->add_option("--effective-rank", f.effective_rank,
                                      "Frozen rank: an integer, or a fraction of r with a decimal point (PEFT vocabulary)");
  group->add_option("--rank-pattern", f.options.rank.rank_patterns,
                    "REGEX=VALUE: frozen rank for matching matrices (first match wins; repeatable)")
      ->take_all();
  group->add_option("--rank-policy", f.policy,
                    "fixed; schedule (frozen fraction (t-1)/n at task t of n); adaptive (the paper: from layer importance)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fixed", "schedule", "adaptive"}));
  group->add_option("--mrr", f.options.rank.mrr, "adaptive: minimum retention ratio")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  group->add_option("--trr", f.options.rank.trr, "adaptive: target retention ratio")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  group->add_option("--calibration-data", f.calibration_data,
                    "adaptive: samples of the previous task (file or CL_Benchmark task); train defaults to --data");
  group->add_option("--calibration-samples", f.options.calibration_samples, "adaptive: calibration examples used")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  group->add_option("--task-index", f.options.rank.task_index, "Task t (1-based) for --rank-policy schedule")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  group->add_option("--num-tasks", f.options.rank.num_tasks, "Number of tasks n for --rank-policy schedule")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  group->add_option("--target-patterns", f.options.target_patterns,
                    "Regexes of the matrices to decompose (default: q,k,v,o,gate,up,down projections; 'all-linear')")
      ->take_all();
  group->add_option("--osft-mode", f.mode, "update (project AdamW's step; exact), gradient (project the gradient) or factored (train U_l, S_l, V_l as the reference does)")
      ->capture_default_str()
      ->check(CLI::IsMember({"update", "gradient", "factored"}));
  group->add_option("--projection", f.projection, "two-sided (default) or block (the paper's printed formula)")
      ->capture_default_str()
      ->check(CLI::IsMember({"two-sided", "block"}));
  group->add_flag("--freeze-non-targets", f.options.freeze_non_targets,
                  "Freeze embeddings, norms and the head (PEFT behaviour); by default they train freely");
}

}  // namespace sculpt::cli
