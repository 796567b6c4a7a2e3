// sculpt plot: an SVG line plot of metrics.jsonl (training loss, held-out loss or perplexity, ...)
// against the step, the cumulative tokens seen, the elapsed time or any other numeric key (e.g. the
// tokens_per_batch of bench/run's scaling tables).
#include <fstream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/eval/svg.h"

namespace sculpt::cli {

using json = nlohmann::json;

namespace {
struct PlotArgs {
  std::string metrics, output, x = "step", title;
  std::vector<std::string> y = {"loss"};
  int64_t smooth = 1;
  bool log_y = false;
};

void run_plot(const PlotArgs& a) {
  std::ifstream in(a.metrics);
  check(in.good(), "cannot open", a.metrics, "give the metrics.jsonl of a training run");
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"};
  std::vector<PlotSeries> series(a.y.size());
  for (size_t k = 0; k < a.y.size(); ++k) series[k] = {a.y[k], {}, {}, colors[k % 6]};
  double tokens = 0;
  int64_t lines_with_x = 0;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    const json m = json::parse(line, nullptr, false);
    check(!m.is_discarded() && m.is_object(), "invalid JSON", a.metrics + ":" + std::to_string(number),
          "metrics.jsonl holds one JSON object per line");
    tokens += m.value("tokens", 0.0);
    const bool has_x = a.x == "tokens" || (m.contains(a.x) && m[a.x].is_number());
    if (!has_x) continue;
    ++lines_with_x;
    const double x = a.x == "tokens" ? tokens : m[a.x].get<double>();
    for (size_t k = 0; k < a.y.size(); ++k)
      if (m.contains(a.y[k]) && m[a.y[k]].is_number()) {
        series[k].x.push_back(x);
        series[k].y.push_back(m[a.y[k]].get<double>());
      }
  }
  check(lines_with_x > 0, "no line has a numeric '" + a.x + "'", a.metrics, "choose --x among the keys of its lines");
  for (auto& s : series) {
    check(!s.x.empty(), "no values of '" + s.label + "'", a.metrics, "choose --y among the keys of its lines");
    if (a.smooth > 1) {  // trailing moving average
      std::vector<double> smoothed(s.y.size());
      double sum = 0;
      for (size_t i = 0; i < s.y.size(); ++i) {
        sum += s.y[i];
        if (i >= static_cast<size_t>(a.smooth)) sum -= s.y[i - static_cast<size_t>(a.smooth)];
        smoothed[i] = sum / static_cast<double>(std::min<size_t>(i + 1, static_cast<size_t>(a.smooth)));
      }
      s.y = smoothed;
    }
  }
  PlotOptions po;
  po.title = a.title.empty() ? a.metrics : a.title;
  po.x_label = a.x == "tokens" ? "tokens seen" : a.x;
  po.y_label = a.y.size() == 1 ? a.y[0] : "";
  po.log_y = a.log_y;
  write_text_atomic(a.output, svg_line_plot(series, po));
  log_info("wrote ", a.output);
}
}  // namespace

void register_plot(CLI::App& app) {
  auto a = std::make_shared<PlotArgs>();
  CLI::App* cmd = app.add_subcommand("plot", "Plot metrics.jsonl of a run as SVG");
  cmd->add_option("metrics", a->metrics, "metrics.jsonl of a training run")->required();
  cmd->add_option("-o,--output", a->output, "SVG file to write")->required();
  cmd->add_option("--x", a->x, "step, tokens (cumulative), elapsed_s or any numeric key of the lines")
      ->capture_default_str();
  cmd->add_option("--y", a->y, "Metrics to plot, one series each")->capture_default_str();
  cmd->add_option("--smooth", a->smooth, "Moving average over N points")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--log-y", a->log_y, "Logarithmic y axis");
  cmd->add_option("--title", a->title, "Plot title (default: the file name)");
  cmd->callback([a] { run_plot(*a); });
}

}  // namespace sculpt::cli
