#include "sculpt/eval/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace sculpt {

namespace {
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}
}  // namespace

std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotOptions& o) {
  const double left = 70, right = 20, top = 40, bottom = 50;
  const double pw = o.width - left - right, ph = o.height - top - bottom;
  double x0 = std::numeric_limits<double>::max(), x1 = -x0, y0 = x0, y1 = -x0;
  auto ty = [&](double y) { return o.log_y ? std::log10(std::max(y, 1e-12)) : y; };
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
    }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) y1 = y0 + 1;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + ph - (ty(y) - y0) / (y1 - y0) * ph; };
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.width << "\" height=\"" << o.height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << o.width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << escape(o.title)
      << "</text>\n";
  out << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
      << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (int t = 0; t <= 4; ++t) {  // ticks
    const double fx = x0 + (x1 - x0) * t / 4, fy = y0 + (y1 - y0) * t / 4;
    out << "<text x=\"" << px(fx) << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << num(fx) << "</text>\n";
    out << "<text x=\"" << left - 6 << "\" y=\"" << top + ph - (fy - y0) / (y1 - y0) * ph + 4
        << "\" text-anchor=\"end\">" << num(o.log_y ? std::pow(10.0, fy) : fy) << "</text>\n";
  }
  out << "<text x=\"" << left + pw / 2 << "\" y=\"" << o.height - 10 << "\" text-anchor=\"middle\">"
      << escape(o.x_label) << "</text>\n";
  out << "<text x=\"16\" y=\"" << top + ph / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
      << top + ph / 2 << ")\">" << escape(o.y_label) << "</text>\n";
  for (double m : o.vertical_markers)
    out << "<line x1=\"" << px(m) << "\" y1=\"" << top << "\" x2=\"" << px(m) << "\" y2=\"" << top + ph
        << "\" stroke=\"#d62728\" stroke-dasharray=\"5,4\"/>\n<text x=\"" << px(m) + 4 << "\" y=\"" << top + 14
        << "\" fill=\"#d62728\">" << escape(o.marker_label) << "</text>\n";
  int legend = 0;
  for (const auto& s : series) {
    out << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"1.5\" points=\"";
    for (size_t i = 0; i < s.x.size(); ++i) out << px(s.x[i]) << "," << py(s.y[i]) << " ";
    out << "\"/>\n";
    if (!s.label.empty())
      out << "<text x=\"" << left + pw - 6 << "\" y=\"" << top + 16 + 14 * legend++ << "\" text-anchor=\"end\" fill=\""
          << s.color << "\">" << escape(s.label) << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

std::string svg_heatmap(const std::vector<std::vector<double>>& values, const std::vector<std::string>& rows,
                        const std::vector<std::string>& cols, const std::string& title) {
  const double cell = 64, left = 110, top = 70;
  const size_t n_rows = values.size(), n_cols = cols.size();
  const double width = left + cell * static_cast<double>(n_cols) + 20, height = top + cell * static_cast<double>(n_rows) + 20;
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << escape(title) << "</text>\n";
  for (size_t j = 0; j < n_cols; ++j)
    out << "<text x=\"" << left + cell * (static_cast<double>(j) + 0.5) << "\" y=\"" << top - 8
        << "\" text-anchor=\"middle\">" << escape(cols[j]) << "</text>\n";
  for (size_t i = 0; i < n_rows; ++i) {
    const double y = top + cell * static_cast<double>(i);
    out << "<text x=\"" << left - 8 << "\" y=\"" << y + cell / 2 + 4 << "\" text-anchor=\"end\">"
        << escape(i < rows.size() ? rows[i] : "") << "</text>\n";
    for (size_t j = 0; j < n_cols && j < values[i].size(); ++j) {
      const double v = values[i][j];
      if (std::isnan(v)) continue;
      // White (0) to dark blue (1); text turns white on dark cells.
      const double t = std::clamp(v, 0.0, 1.0);
      const int r = static_cast<int>(247 - t * (247 - 8)), g = static_cast<int>(251 - t * (251 - 69)),
                b = static_cast<int>(255 - t * (255 - 148));
      const double x = left + cell * static_cast<double>(j);
      out << "<rect x=\"" << x << "\" y=\"" << y << "\" width=\"" << cell << "\" height=\"" << cell
          << "\" fill=\"rgb(" << r << "," << g << "," << b << ")\" stroke=\"white\"/>\n";
      char text[16];
      std::snprintf(text, sizeof text, "%.1f", 100 * v);
      out << "<text x=\"" << x + cell / 2 << "\" y=\"" << y + cell / 2 + 4 << "\" text-anchor=\"middle\" fill=\""
          << (t > 0.55 ? "white" : "black") << "\">" << text << "</text>\n";
    }
  }
  out << "</svg>\n";
  return out.str();
}

std::string svg_bar_chart(const std::vector<std::string>& labels, const std::vector<double>& values,
                          const std::string& title, const std::string& y_label) {
  const double left = 70, top = 40, bottom = 50, bar = 56, gap = 24;
  const double ph = 260, width = left + (bar + gap) * static_cast<double>(labels.size()) + gap, height = top + ph + bottom;
  double top_value = 0;
  for (double v : values)
    if (std::isfinite(v)) top_value = std::max(top_value, v);
  if (top_value <= 0) top_value = 1;
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out << "<text x=\"" << width / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">" << escape(title) << "</text>\n";
  out << "<line x1=\"" << left << "\" y1=\"" << top + ph << "\" x2=\"" << width << "\" y2=\"" << top + ph
      << "\" stroke=\"#444\"/>\n";
  out << "<text x=\"16\" y=\"" << top + ph / 2 << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " << top + ph / 2
      << ")\">" << escape(y_label) << "</text>\n";
  for (size_t i = 0; i < labels.size(); ++i) {
    const double v = i < values.size() && std::isfinite(values[i]) ? std::max(values[i], 0.0) : 0.0;
    const double h = v / top_value * ph, x = left + gap + (bar + gap) * static_cast<double>(i);
    out << "<rect x=\"" << x << "\" y=\"" << top + ph - h << "\" width=\"" << bar << "\" height=\"" << h
        << "\" fill=\"#1f77b4\"/>\n";
    out << "<text x=\"" << x + bar / 2 << "\" y=\"" << top + ph - h - 4 << "\" text-anchor=\"middle\">" << num(v)
        << "</text>\n";
    out << "<text x=\"" << x + bar / 2 << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << escape(labels[i])
        << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

}  // namespace sculpt
