// Continual-learning metrics against matrices computed by hand, and the SVG report figures.
#include <gtest/gtest.h>

#include <cmath>

#include "sculpt/core/error.h"
#include "sculpt/eval/cl_metrics.h"
#include "sculpt/eval/svg.h"

namespace sculpt {
namespace {

TEST(ClMetrics, ThreeTasksByHand) {
  const std::vector<std::vector<double>> R = {{0.9, 0.1, 0.2}, {0.5, 0.8, 0.3}, {0.4, 0.6, 0.7}};
  const ClMetrics m = cl_metrics(R, {0.05, 0.1, 0.15});
  EXPECT_NEAR(m.average_accuracy, (0.4 + 0.6 + 0.7) / 3, 1e-12);
  EXPECT_NEAR(m.backward_transfer, ((0.4 - 0.9) + (0.6 - 0.8)) / 2, 1e-12);   // −0.35
  EXPECT_NEAR(m.forward_transfer, ((0.1 - 0.1) + (0.3 - 0.15)) / 2, 1e-12);   // 0.075
  EXPECT_NEAR(m.max_forgetting, (std::max(0.9, 0.5) - 0.4 + (0.8 - 0.6)) / 2, 1e-12);  // 0.35
}

TEST(ClMetrics, ImprovementIsNegativeForgettingAndPositiveTransfer) {
  const ClMetrics m = cl_metrics({{0.5, 0.0}, {0.7, 0.9}}, {0.0, 0.0});
  EXPECT_NEAR(m.average_accuracy, 0.8, 1e-12);
  EXPECT_NEAR(m.backward_transfer, 0.2, 1e-12);
  EXPECT_NEAR(m.forward_transfer, 0.0, 1e-12);
  EXPECT_NEAR(m.max_forgetting, -0.2, 1e-12);
}

TEST(ClMetrics, OneTaskHasOnlyAverageAccuracy) {
  const ClMetrics m = cl_metrics({{0.25}}, {});
  EXPECT_EQ(m.average_accuracy, 0.25);
  EXPECT_TRUE(std::isnan(m.backward_transfer));
  EXPECT_TRUE(std::isnan(m.forward_transfer));
  EXPECT_TRUE(std::isnan(m.max_forgetting));
  // Without base accuracies FWT is undefined but the rest is not.
  const ClMetrics two = cl_metrics({{1, 0}, {0, 1}}, {});
  EXPECT_TRUE(std::isnan(two.forward_transfer));
  EXPECT_EQ(two.backward_transfer, -1.0);
}

TEST(ClMetrics, BadShapesAreErrors) {
  EXPECT_THROW(cl_metrics({}, {}), Error);
  EXPECT_THROW(cl_metrics({{1, 0}, {1}}, {}), Error);
  EXPECT_THROW(cl_metrics({{1}}, {0.1, 0.2}), Error);
}

TEST(Svg, HeatmapAndBarChartPrintTheirValues) {
  const std::string heat = svg_heatmap({{0.9, std::nan("")}, {0.5, 0.75}}, {"after A", "after B"}, {"A", "B"}, "seqft");
  EXPECT_EQ(heat.rfind("<svg", 0), 0u);
  EXPECT_NE(heat.find(">90.0<"), std::string::npos);
  EXPECT_NE(heat.find(">75.0<"), std::string::npos);
  EXPECT_NE(heat.find(">after B<"), std::string::npos);
  // Three drawn cells (the NaN one is blank) plus the background.
  size_t rects = 0;
  for (size_t p = heat.find("<rect"); p != std::string::npos; p = heat.find("<rect", p + 1)) ++rects;
  EXPECT_EQ(rects, 4u);
  const std::string bars = svg_bar_chart({"seqft", "osft"}, {0.3, 0.6}, "AA", "accuracy");
  EXPECT_NE(bars.find(">osft<"), std::string::npos);
  EXPECT_NE(bars.find(">0.6<"), std::string::npos);
}

}  // namespace
}  // namespace sculpt
