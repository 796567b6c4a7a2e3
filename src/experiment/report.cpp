#include "sculpt/experiment/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <sstream>

#include "sculpt/core/atomic_file.h"
#include "sculpt/eval/svg.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string pct(double v) {
  if (std::isnan(v)) return "—";
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", 100 * v);
  return b;
}
std::string signed_pct(double v) {
  if (std::isnan(v)) return "—";
  char b[16];
  std::snprintf(b, sizeof b, "%+.1f", 100 * v);
  return b;
}
std::string num(double v, const char* f) {
  if (std::isnan(v) || v < 0) return "—";
  char b[32];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
json nan_to_null(double v) { return std::isnan(v) ? json(nullptr) : json(v); }
}  // namespace

ClMetrics method_metrics(const MethodResult& m, const EvalRow& base, size_t tasks) {
  ClMetrics out{kNaN, kNaN, kNaN, kNaN};
  if (m.rows.empty()) return out;
  if (m.rows.size() == 1 && tasks > 1) {  // joint training: only the final accuracies exist
    double sum = 0;
    for (double a : m.rows[0].accuracy) sum += a;
    out.average_accuracy = sum / static_cast<double>(m.rows[0].accuracy.size());
    return out;
  }
  if (m.rows.size() < tasks) return out;  // incomplete sequence: no metrics yet
  std::vector<std::vector<double>> R;
  for (const auto& r : m.rows) R.push_back(r.accuracy);
  return cl_metrics(R, base.accuracy);
}

json results_json(const ExperimentResult& r) {
  json methods = json::object();
  for (const auto& m : r.methods) {
    const ClMetrics cm = method_metrics(m, r.base, r.task_names.size());
    json rows = json::array();
    for (const auto& row : m.rows) rows.push_back(eval_row_json(row));
    methods[m.method] = {{"rows", rows},
                         {"complete", m.complete},
                         {"average_accuracy", nan_to_null(cm.average_accuracy)},
                         {"backward_transfer", nan_to_null(cm.backward_transfer)},
                         {"forward_transfer", nan_to_null(cm.forward_transfer)},
                         {"max_forgetting", nan_to_null(cm.max_forgetting)}};
  }
  return {{"tasks", r.task_names}, {"eval_mode", r.eval_mode}, {"base", eval_row_json(r.base)}, {"methods", methods}};
}

std::string report_markdown(const ExperimentResult& r) {
  std::ostringstream md;
  md << "# Continual-learning results\n\nTasks in order: ";
  for (size_t j = 0; j < r.task_names.size(); ++j) md << (j ? " → " : "") << r.task_names[j];
  md << ".\n\nAccuracy (%): "
     << (r.eval_mode == "rank" ? "log-likelihood ranking over each task's label set (the answer is the label whose "
                                 "tokens have the highest total log-probability)"
                               : "exact match of greedy generations")
     << ". AA: average accuracy after the last task; "
        "BWT: backward transfer (negative = forgetting); FWT: forward transfer (accuracy on the next task before "
        "training it, minus the base model's); MF: average maximum forgetting. General: perplexity of the final "
        "model on the general-ability text and its mean per-token KL divergence from the base model.\n\n";
  md << "| method | AA | BWT | FWT | MF | general perplexity | KL to base | training time |\n"
        "|---|---|---|---|---|---|---|---|\n";
  const bool has_general = r.base.general_perplexity >= 0;
  md << "| base model | " << pct([&] {
    double s = 0;
    for (double a : r.base.accuracy) s += a;
    return r.base.accuracy.empty() ? kNaN : s / static_cast<double>(r.base.accuracy.size());
  }()) << " | | | | " << (has_general ? num(r.base.general_perplexity, "%.3f") : "—") << " | 0 | |\n";
  for (const auto& m : r.methods) {
    const ClMetrics cm = method_metrics(m, r.base, r.task_names.size());
    double secs = 0;
    for (const auto& row : m.rows) secs += row.train_seconds;
    const EvalRow* last = m.rows.empty() ? nullptr : &m.rows.back();
    md << "| " << m.method << (m.complete ? "" : " (incomplete)") << " | " << pct(cm.average_accuracy) << " | "
       << signed_pct(cm.backward_transfer) << " | " << signed_pct(cm.forward_transfer) << " | "
       << signed_pct(cm.max_forgetting) << " | " << (last ? num(last->general_perplexity, "%.3f") : "—") << " | "
       << (last ? num(last->general_kl, "%.4f") : "—") << " | " << num(secs, "%.0f s") << " |\n";
  }
  md << "\n![average accuracy](average_accuracy.svg)\n";
  for (const auto& m : r.methods) {
    md << "\n## " << m.method << "\n\n| after \\ task |";
    for (const auto& t : r.task_names) md << " " << t << " |";
    md << "\n|---|";
    for (size_t j = 0; j < r.task_names.size(); ++j) md << "---|";
    md << "\n| base |";
    for (double a : r.base.accuracy) md << " " << pct(a) << " |";
    md << "\n";
    const bool joint = m.rows.size() == 1 && r.task_names.size() > 1 && m.complete;
    for (size_t i = 0; i < m.rows.size(); ++i) {
      md << "| " << (joint ? std::string("all (joint)") : r.task_names[i]) << " |";
      for (double a : m.rows[i].accuracy) md << " " << pct(a) << " |";
      md << "\n";
    }
    md << "\n![" << m.method << " accuracy matrix](" << m.method << "/accuracy_heatmap.svg) ![" << m.method
       << " accuracy over time](" << m.method << "/accuracy_over_time.svg)\n";
  }
  return md.str();
}

void write_reports(const std::string& dir, const ExperimentResult& r) {
  const fs::path out(dir);
  write_text_atomic((out / "results.json").string(), results_json(r).dump(2) + "\n");
  write_text_atomic((out / "report.md").string(), report_markdown(r));
  std::vector<std::string> labels;
  std::vector<double> aa;
  static const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"};
  for (const auto& m : r.methods) {
    fs::create_directories(out / m.method);
    labels.push_back(m.method);
    aa.push_back(100 * method_metrics(m, r.base, r.task_names.size()).average_accuracy);
    std::ostringstream csv;
    csv << "after";
    for (const auto& t : r.task_names) csv << "," << t;
    csv << "\nbase";
    for (double a : r.base.accuracy) csv << "," << a;
    csv << "\n";
    std::vector<std::vector<double>> matrix;
    std::vector<std::string> rows;
    const bool joint = m.rows.size() == 1 && r.task_names.size() > 1 && m.complete;
    for (size_t i = 0; i < m.rows.size(); ++i) {
      rows.push_back(joint ? "all (joint)" : "after " + r.task_names[i]);
      csv << (joint ? "all" : r.task_names[i]);
      for (double a : m.rows[i].accuracy) csv << "," << a;
      csv << "\n";
      matrix.push_back(m.rows[i].accuracy);
    }
    write_text_atomic((out / m.method / "accuracy_matrix.csv").string(), csv.str());
    write_text_atomic((out / m.method / "accuracy_heatmap.svg").string(),
                      svg_heatmap(matrix, rows, r.task_names, m.method + ": accuracy (%) after each stage"));
    std::vector<PlotSeries> series;
    for (size_t j = 0; j < r.task_names.size(); ++j) {
      PlotSeries s{r.task_names[j], {0}, {100 * r.base.accuracy[j]}, colors[j % 7]};
      for (size_t i = 0; i < m.rows.size(); ++i) {
        s.x.push_back(static_cast<double>(i + 1));
        s.y.push_back(100 * m.rows[i].accuracy[j]);
      }
      series.push_back(s);
    }
    PlotOptions po;
    po.title = m.method + ": accuracy of each task over the sequence";
    po.x_label = "tasks trained (0 = base model)";
    po.y_label = r.eval_mode == "rank" ? "label ranking accuracy (%)" : "exact match (%)";
    write_text_atomic((out / m.method / "accuracy_over_time.svg").string(), svg_line_plot(series, po));
  }
  write_text_atomic((out / "average_accuracy.svg").string(),
                    svg_bar_chart(labels, aa, "average accuracy after the last task", "AA (%)"));
}

}  // namespace sculpt
