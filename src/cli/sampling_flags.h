// The sampling and threading options generate and chat share, so that their ranges and help text
// have one source.
#pragma once
#include <CLI/CLI.hpp>

namespace sculpt::cli {

inline void add_sampling_flags(CLI::App* cmd, float& temperature, float& top_p, int& threads) {
  cmd->add_option("-t,--temperature", temperature, "Sampling temperature; 0 = greedy")
      ->capture_default_str()
      ->check(CLI::Range(0.f, 100.f));
  cmd->add_option("--top-p", top_p, "Nucleus sampling mass (with temperature > 0)")
      ->capture_default_str()
      ->check(CLI::Range(0.f, 1.f));
  cmd->add_option("--threads", threads, "Threads for compute (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
}

}  // namespace sculpt::cli
