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

}  // namespace sculpt
