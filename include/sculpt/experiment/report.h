// Reports of a continual-learning experiment, written into its output directory (atomically):
//   results.json                   every row of every method, the base row, the metrics
//   report.md                      the paper-style table (methods × AA / BWT / FWT / MF / general
//                                  perplexity / KL), each method's accuracy matrix, the figures
//   <method>/accuracy_matrix.csv   rows: base, then after each stage; columns: tasks
//   <method>/accuracy_heatmap.svg, <method>/accuracy_over_time.svg, average_accuracy.svg
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "sculpt/eval/cl_metrics.h"
#include "sculpt/experiment/runner.h"

namespace sculpt {

// Metrics of one method (sequential: the T×T matrix; joint: AA of its single row only).
ClMetrics method_metrics(const MethodResult& m, const EvalRow& base, size_t tasks);

nlohmann::json results_json(const ExperimentResult& r);
std::string report_markdown(const ExperimentResult& r);
void write_reports(const std::string& dir, const ExperimentResult& r);

}  // namespace sculpt
