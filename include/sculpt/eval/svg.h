// Minimal SVG line plots (no dependencies): series of (x, y) points on linear or log axes.
#pragma once
#include <string>
#include <vector>

namespace sculpt {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;
  std::string color = "#1f77b4";
};

struct PlotOptions {
  std::string title, x_label, y_label;
  bool log_y = false;
  int width = 640, height = 400;
  std::vector<double> vertical_markers;  // x positions of dashed vertical lines
  std::string marker_label;
};

std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& options);

// A matrix of values in [0, 1] as coloured cells with the value printed in each (accuracy
// matrices: rows "after task i", columns "task j"). NaN cells are left blank.
std::string svg_heatmap(const std::vector<std::vector<double>>& values, const std::vector<std::string>& row_labels,
                        const std::vector<std::string>& column_labels, const std::string& title);

// One bar per label (e.g. average accuracy per method), values printed above the bars.
std::string svg_bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values,
                          const std::string& title, const std::string& y_label);

}  // namespace sculpt
