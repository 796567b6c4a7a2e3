// General-ability retention: perplexity agrees with the training graph's loss, KL is zero against
// itself, positive and asymmetric against a perturbed copy; and the experiment report.
#include <gtest/gtest.h>

#include <cmath>

#include "sculpt/core/atomic_file.h"
#include "sculpt/eval/general_ability.h"
#include "sculpt/eval/loss.h"
#include "sculpt/experiment/report.h"
#include "test_support.h"
#include "tiny_model.h"

namespace sculpt {
namespace {

LlamaModel tiny(uint64_t seed) {
  return testing::tiny_model({.layers = 2, .vocab = 40, .tied = false}, seed, 0.3f);
}

std::vector<Example> sequences() {
  std::vector<Example> out;
  Rng rng(5);
  for (int s = 0; s < 5; ++s) {
    Example e;
    for (int t = 0; t < 12 + s; ++t) e.tokens.push_back(static_cast<int32_t>(rng.below(40)));
    e.target.assign(e.tokens.size(), 1);
    e.target[0] = 0;
    out.push_back(e);
  }
  return out;
}

TEST(GeneralAbility, PerplexityMatchesHeldOutLossAndSelfKlIsZero) {
  const LlamaModel m = tiny(1);
  const auto texts = sequences();
  const GeneralAbility g = general_ability(m, m, texts, 2);
  EXPECT_NEAR(std::log(g.perplexity), held_out_loss(m, texts, 3).loss, 1e-5);
  EXPECT_NEAR(g.kl_to_base, 0.0, 1e-9);
  EXPECT_EQ(g.positions, 11 + 12 + 13 + 14 + 15);
}

TEST(GeneralAbility, KlIsPositiveAndAsymmetric) {
  const LlamaModel a = tiny(1), b = tiny(2);
  const auto texts = sequences();
  const double ab = general_ability(a, b, texts).kl_to_base, ba = general_ability(b, a, texts).kl_to_base;
  EXPECT_GT(ab, 0.0);
  EXPECT_GT(ba, 0.0);
  EXPECT_NE(ab, ba);
}

TEST(Report, TableMatrixAndCsvCarryTheNumbers) {
  ExperimentResult r;
  r.task_names = {"a", "b"};
  r.base.accuracy = {0.1, 0.0};
  r.base.general_perplexity = 3.5;
  MethodResult seq{"seqft", {}, true};
  seq.rows.push_back({{0.8, 0.1}, 4.0, 0.2, 10, {}});
  seq.rows.push_back({{0.2, 0.9}, 5.0, 0.4, 12, {}});
  MethodResult mtl{"mtl", {}, true};
  mtl.rows.push_back({{0.7, 0.8}, 4.5, 0.3, 20, {}});
  r.methods = {seq, mtl};
  const std::string md = report_markdown(r);
  // seqft: AA 55.0, BWT 0.2 − 0.8 = −60.0, FWT 0.1 − 0.0 = +10.0, MF 60.0.
  EXPECT_NE(md.find("| seqft | 55.0 | -60.0 | +10.0 | +60.0 | 5.000 | 0.4000 | 22 s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| mtl | 75.0 | — | — | — | 4.500 | 0.3000 | 20 s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| b | 20.0 | 90.0 |"), std::string::npos) << md;
  testing::TempDir dir;
  write_reports(dir.path.string(), r);
  EXPECT_EQ(read_text_file(dir / "seqft/accuracy_matrix.csv"), "after,a,b\nbase,0.1,0\na,0.8,0.1\nb,0.2,0.9\n");
  const auto results = nlohmann::json::parse(read_text_file(dir / "results.json"));
  EXPECT_NEAR(results["methods"]["seqft"]["backward_transfer"].get<double>(), -0.6, 1e-12);
  EXPECT_TRUE(results["methods"]["mtl"]["backward_transfer"].is_null());
  for (const char* f : {"average_accuracy.svg", "seqft/accuracy_heatmap.svg", "mtl/accuracy_over_time.svg"})
    EXPECT_TRUE(std::filesystem::exists(dir / f)) << f;
}

}  // namespace
}  // namespace sculpt
