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

}  // namespace sculpt
