// sculpt inspect: per-matrix singular-value spectra of a model's OSFT targets, summarised in a
// table and plotted as SVG files with the OSFT cut marked.
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "osft_flags.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/eval/svg.h"

namespace sculpt::cli {

namespace fs = std::filesystem;

namespace {
struct InspectArgs {
  std::string model, output_dir = "inspect";
  int threads = 0;
  OsftFlags osft;
};

void run_inspect(InspectArgs& a) {
  set_num_threads(a.threads);
  LlamaModel model = load_model(a.model);
  OsftOptions o = a.osft.resolve();
  if (!o.rank.unfreeze_rank_ratio && !o.rank.effective_rank && o.rank.rank_patterns.empty() &&
      o.rank.policy == RankPolicyKind::fixed)
    o.rank.unfreeze_rank_ratio = 0.25;  // the cut to mark when none is given
  const auto plan = make_osft_plan(model, o);
  fs::create_directories(a.output_dir);
  std::printf("%-48s %11s %10s %10s %10s %9s %5s %8s\n", "matrix", "shape", "sigma_1", "sigma_r", "cond", "eff.rank",
              "k", "energy");
  for (const auto& p : plan) {
    const auto& s = p.singular_values;
    double sum = 0, entropy = 0;
    for (float v : s) sum += v;
    for (float v : s)
      if (v > 0) entropy -= (v / sum) * std::log(v / sum);
    char shape[32];
    std::snprintf(shape, sizeof shape, "%lldx%lld", static_cast<long long>(p.rows), static_cast<long long>(p.cols));
    std::printf("%-48s %11s %10.4f %10.4g %10.3g %9.1f %5lld %7.2f%%\n", p.name.c_str(), shape, s.front(), s.back(),
                s.back() > 0 ? s.front() / s.back() : INFINITY, std::exp(entropy), static_cast<long long>(p.frozen),
                100.0 * p.energy_kept);
    PlotSeries series{"singular values", {}, {}};
    for (size_t i = 0; i < s.size(); ++i) series.x.push_back(static_cast<double>(i + 1)), series.y.push_back(s[i]);
    PlotOptions po;
    po.title = p.name + " (" + shape + ")";
    po.x_label = "index";
    po.y_label = "singular value";
    po.log_y = true;
    po.vertical_markers = {static_cast<double>(p.frozen) + 0.5};
    po.marker_label = "k = " + std::to_string(p.frozen);
    write_text_atomic((fs::path(a.output_dir) / (p.name + ".svg")).string(), svg_line_plot({series}, po));
  }
  std::fflush(stdout);
  log_info("wrote ", plan.size(), " spectra to ", a.output_dir, "/ (effective rank = exp(entropy of σ/Σσ))");
}
}  // namespace

void register_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Spectra of a model's target matrices, with SVG plots and the OSFT cut");
  cmd->add_option("model", a->model, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("-o,--output-dir", a->output_dir, "Where the SVG plots go")->capture_default_str();
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  add_osft_flags(cmd, a->osft);
  cmd->callback([a] { run_inspect(*a); });
}

}  // namespace sculpt::cli
