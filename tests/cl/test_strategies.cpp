// The baselines' mechanics: EWC's Fisher and penalty gradient (finite differences), replay's
// mixing proportions, multi-task union; and the synthetic demo world.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <sstream>

#include "sculpt/cl/ewc.h"
#include "sculpt/cl/methods.h"
#include "sculpt/cl/sequential.h"
#include "sculpt/core/error.h"
#include "sculpt/data/batching.h"
#include "sculpt/experiment/demo.h"
#include "sculpt/text/byte_tokenizer.h"
#include "test_support.h"
#include "tiny_model.h"

namespace sculpt {
namespace {

// Byte-tokenized examples with the last few bytes as the target.
std::vector<Example> byte_examples(const std::vector<std::string>& texts) {
  std::vector<Example> out;
  for (const auto& t : texts) {
    Example e;
    e.tokens.push_back(kByteTokenizerBos);
    for (unsigned char c : t) e.tokens.push_back(c);
    e.target.assign(e.tokens.size(), 0);
    for (size_t i = e.tokens.size() - 3; i < e.tokens.size(); ++i) e.target[i] = 1;
    e.target_text = t.substr(t.size() - 3);
    out.push_back(e);
  }
  return out;
}

LlamaModel tiny_byte_model() { return testing::tiny_model({}, 3, 0.2f); }

TEST(Ewc, FisherIsTheMeanOfSquaredPerSampleGradients) {
  LlamaModel m = tiny_byte_model();
  const auto ex = byte_examples({"hello world", "a cat sat"});
  const auto f = EwcStrategy::fisher(m, ex);
  // Each sample's gradient of its summed NLL, squared, averaged.
  TrainingGraph graph(m, 1, 16);
  std::vector<std::vector<float>> sq(m.parameters().size());
  for (const auto& e : ex) {
    Gradients g(m);
    g.zero();
    graph.forward_backward(make_token_batch({&e}), 1.f, g);
    for (size_t i = 0; i < sq.size(); ++i) {
      sq[i].resize(static_cast<size_t>(g.table()[i].value.numel()));
      for (int64_t k = 0; k < g.table()[i].value.numel(); ++k) {
        const float v = g.table()[i].value.data()[k];
        sq[i][static_cast<size_t>(k)] += v * v / 2;
      }
    }
  }
  for (size_t i = 0; i < sq.size(); ++i)
    for (int64_t k = 0; k < f[i].numel(); ++k) ASSERT_NEAR(f[i].data()[k], sq[i][static_cast<size_t>(k)], 1e-6f);
}

TEST(Ewc, PenaltyGradientMatchesFiniteDifferences) {
  LlamaModel m = tiny_byte_model();
  EwcOptions o;
  o.lambda = 50;
  EwcStrategy ewc(o);
  const auto ex = byte_examples({"hello world", "a cat sat", "the end"});
  const auto ex2 = byte_examples({"xyz abc", "qqq rrr"});
  // The two tasks' Fishers and anchors kept separately: the independent reference.
  std::vector<std::vector<Tensor>> fishers, anchors;
  auto snapshot = [&] {
    std::vector<Tensor> a;
    for (const auto& p : m.parameters()) a.push_back(p.value.clone());
    anchors.push_back(a);
  };
  fishers.push_back(EwcStrategy::fisher(m, ex));
  snapshot();
  ewc.end_task(m, ex);  // anchor at the current weights, Fisher of these samples (all 3 < 64)
  EXPECT_EQ(ewc.tasks_consolidated(), 1);
  EXPECT_NEAR(ewc.penalty(m), 0.0, 1e-12);  // at the anchor
  // Move away from the anchor, then consolidate a second "task" there too (two anchors).
  Rng rng(9);
  for (auto& p : m.parameters())
    for (int64_t k = 0; k < p.value.numel(); ++k) p.value.data()[k] += 0.05f * (rng.uniform() - 0.5f);
  fishers.push_back(EwcStrategy::fisher(m, ex2));
  snapshot();
  ewc.end_task(m, ex2);
  for (auto& p : m.parameters())
    for (int64_t k = 0; k < p.value.numel(); ++k) p.value.data()[k] += 0.05f * (rng.uniform() - 0.5f);
  // Ω = λ/2 Σ_i Σ_p F_i (θ − θ*_i)², summed task by task.
  double explicit_sum = 0;
  for (size_t t = 0; t < 2; ++t)
    for (size_t i = 0; i < m.parameters().size(); ++i)
      for (int64_t k = 0; k < m.parameters()[i].value.numel(); ++k) {
        const double d = static_cast<double>(m.parameters()[i].value.data()[k]) - anchors[t][i].data()[k];
        explicit_sum += static_cast<double>(fishers[t][i].data()[k]) * d * d;
      }
  EXPECT_GT(explicit_sum, 0.0);
  EXPECT_NEAR(ewc.penalty(m), 0.5 * 50 * explicit_sum, 1e-5 * 0.5 * 50 * explicit_sum);

  Gradients g(m);
  g.zero();
  ewc.on_gradients(m, g);  // adds ∇Ω
  int checked = 0;
  for (size_t i = 0; i < m.parameters().size(); ++i) {
    Tensor& w = m.parameters()[i].value;
    for (int64_t k = 0; k < w.numel(); k += std::max<int64_t>(1, w.numel() / 5)) {
      const float keep = w.data()[k];
      const double h = 1e-2;
      w.data()[k] = keep + static_cast<float>(h);
      const double up = ewc.penalty(m);
      w.data()[k] = keep - static_cast<float>(h);
      const double down = ewc.penalty(m);
      w.data()[k] = keep;
      const double fd = (up - down) / (2 * h);  // exact for a quadratic, up to rounding
      ASSERT_NEAR(g.table()[i].value.data()[k], fd, 1e-3 * std::max(1.0, std::fabs(fd))) << m.parameters()[i].name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(Ewc, StateRoundTripsBetweenTasks) {
  LlamaModel m = tiny_byte_model();
  EwcStrategy ewc({});
  ewc.end_task(m, byte_examples({"hello world"}));
  for (auto& p : m.parameters()) p.value.data()[0] += 0.1f;
  testing::TempDir dir;
  ewc.save_between_tasks(dir / "s");
  EwcStrategy back({});
  back.load_between_tasks(dir / "s");
  EXPECT_EQ(back.tasks_consolidated(), 1);
  EXPECT_EQ(back.penalty(m), ewc.penalty(m));
}

TEST(Replay, MixesASeededFractionOfEveryEarlierTask) {
  std::vector<std::vector<Example>> tasks(3);
  for (int t = 0; t < 3; ++t)
    for (int i = 0; i < 40 + 10 * t; ++i) tasks[t].push_back(byte_examples({"t" + std::to_string(t) + " " + std::to_string(i) + "xyz"})[0]);
  std::vector<const std::vector<Example>*> ptrs = {&tasks[0], &tasks[1], &tasks[2]};
  ReplayStrategy replay({0.25, 1});
  const auto mixed = replay.training_examples(ptrs, 2);
  // All 60 of task 2, then round(0.25·40) = 10 of task 0 and round(0.25·50) = 13 (12.5 rounds away) of task 1.
  EXPECT_EQ(replay.replayed(40), 10);
  EXPECT_EQ(replay.replayed(50), 13);
  EXPECT_EQ(replay.replayed(1), 1);  // at least one
  ASSERT_EQ(mixed.size(), 60u + 10u + 13u);
  std::map<char, int> per_task;
  std::set<std::vector<int32_t>> unique;
  for (const auto& e : mixed) {
    ++per_task[static_cast<char>(e.tokens[2])];
    unique.insert(e.tokens);
  }
  EXPECT_EQ(per_task['0'], 10);
  EXPECT_EQ(per_task['1'], 13);
  EXPECT_EQ(per_task['2'], 60);
  EXPECT_EQ(unique.size(), mixed.size());  // a subset, not draws with replacement
  // Task 0's replayed subset is the same whenever it is replayed.
  const auto at1 = replay.training_examples(ptrs, 1);
  std::set<std::vector<int32_t>> task0_at1, task0_at2;
  for (const auto& e : at1) if (e.tokens[2] == '0') task0_at1.insert(e.tokens);
  for (const auto& e : mixed) if (e.tokens[2] == '0') task0_at2.insert(e.tokens);
  EXPECT_EQ(task0_at1, task0_at2);
  // No replay for the first task.
  EXPECT_EQ(replay.training_examples(ptrs, 0).size(), 40u);
}

TEST(MultiTask, TrainsOnTheUnionInOneStage) {
  std::vector<std::vector<Example>> tasks = {byte_examples({"aaa", "bbb"}), byte_examples({"ccc"})};
  MultiTaskStrategy mtl;
  EXPECT_TRUE(mtl.joint());
  EXPECT_EQ(mtl.training_examples({&tasks[0], &tasks[1]}, 1).size(), 3u);
  SeqFtStrategy seq;
  EXPECT_FALSE(seq.joint());
  EXPECT_EQ(seq.training_examples({&tasks[0], &tasks[1]}, 1).size(), 1u);
}

TEST(Demo, WorldIsDeterministicWithDisjointAnswerSets) {
  const DemoWorld a = make_demo_world(5, 3, 40, 10), b = make_demo_world(5, 3, 40, 10), c = make_demo_world(6, 3, 40, 10);
  ASSERT_EQ(a.tasks.size(), 3u);
  EXPECT_EQ(a.tasks[1].train[7].prompt, b.tasks[1].train[7].prompt);
  EXPECT_NE(a.tasks[1].train[7].prompt + a.tasks[1].train[8].prompt,
            c.tasks[1].train[7].prompt + c.tasks[1].train[8].prompt);
  std::vector<std::set<std::string>> answers(3);
  for (size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(a.tasks[t].train.size(), 40u);
    EXPECT_EQ(a.tasks[t].test.size(), 10u);
    for (const auto& r : a.tasks[t].train) {
      answers[t].insert(r.completion);
      // The answer is in the input: the task is to find the right attribute.
      EXPECT_NE(r.prompt.find(r.completion.substr(1)), std::string::npos) << r.prompt;
    }
  }
  for (size_t t = 0; t < 3; ++t)
    for (size_t u = t + 1; u < 3; ++u)
      for (const auto& w : answers[t]) EXPECT_EQ(answers[u].count(w), 0u) << w;
  EXPECT_EQ(a.descriptions.size(), 3u * 40u);
  EXPECT_EQ(a.held_out.size(), 3u * 10u);
}

// Test questions never repeat training questions, and the held-out descriptions (the general-ability
// text) are not in the pretraining corpus, with and without shared objects.
TEST(Demo, TestQuestionsAndHeldOutTextAreUnseen) {
  for (const bool shared : {false, true}) {
    const DemoWorld w = make_demo_world(3, 5, 160, 60, shared);
    const std::set<std::string> pretraining(w.descriptions.begin(), w.descriptions.end());
    EXPECT_EQ(pretraining.size(), w.descriptions.size()) << "a description repeats";
    for (const auto& d : w.held_out) EXPECT_EQ(pretraining.count(d), 0u) << d;
    for (const auto& t : w.tasks) {
      std::set<std::string> train;
      for (const auto& r : t.train) train.insert(r.prompt);
      for (const auto& r : t.test) EXPECT_EQ(train.count(r.prompt), 0u) << r.prompt;
    }
  }
}

// Each task describes objects of its own unless asked to share them; the question's last word is
// the task's own.
TEST(Demo, TasksDescribeTheirOwnObjectsUnlessShared) {
  const auto sentence_of = [](const DemoRecord& r) {  // the description before the question
    return r.prompt.substr(0, r.prompt.find('\n'));
  };
  for (const bool shared : {false, true}) {
    const DemoWorld w = make_demo_world(1, 3, 200, 20, shared);
    std::vector<std::set<std::string>> words(3);
    for (size_t t = 0; t < 3; ++t)
      for (const auto& r : w.tasks[t].train) {
        std::istringstream in(sentence_of(r));
        for (std::string word; in >> word;) words[t].insert(word);
      }
    size_t common = 0;  // words that both color and material sentences use
    for (const auto& x : words[0]) common += words[1].count(x);
    if (shared)
      EXPECT_GE(common, 16u + 4u);  // every object and size
    else
      EXPECT_LE(common, 1u);  // "a"/"the"-like words only, no object or modifier
    std::set<std::string> last_words;
    for (const auto& t : w.tasks) {
      const std::string& q = t.train[0].prompt;
      last_words.insert(q.substr(q.find_last_of(" \n") + 1));
    }
    EXPECT_EQ(last_words.size(), 3u);
  }
}

TEST(Demo, TooManyQuestionsIsAnError) {
  EXPECT_THROW(make_demo_world(0, 3, 200, 41), Error);  // 10 objects × 4 modifiers × 6 values = 240
  EXPECT_NO_THROW(make_demo_world(0, 3, 200, 40));
  EXPECT_NO_THROW(make_demo_world(0, 3, 300, 84, true));  // 16 × 4 × 6 = 384
}

}  // namespace
}  // namespace sculpt

namespace sculpt {
namespace {

// The registry is the one list of methods: each name makes the strategy of that name, and an
// unknown name is refused with the list.
TEST(Methods, EveryNameMakesItsStrategy) {
  MethodSettings settings;
  settings.osft.rank.unfreeze_rank_ratio = 0.5;
  std::set<std::string> names;
  for (const auto& m : methods()) {
    const auto strategy = make_method(m.name, settings);
    ASSERT_NE(strategy, nullptr) << m.name;
    EXPECT_EQ(strategy->name(), m.name);
    EXPECT_FALSE(m.summary.empty()) << m.name;
    names.insert(m.name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"seqft", "osft", "seqlora", "inclora", "olora", "ewc", "replay", "mtl"}));
  EXPECT_EQ(method_names(), "seqft, osft, seqlora, inclora, olora, ewc, replay, mtl");
  try {
    make_method("lwf", settings);
    FAIL() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.one_line(), "--methods: unknown method 'lwf' (hint: choose from " + method_names() + ")");
  }
}

// OSFT in a sequence: before_task sets the schedule's task and calibrates on at most
// calibration_samples of the previous task, held by the strategy itself.
TEST(Methods, OsftBeforeTaskSetsTheScheduleAndItsOwnCalibration) {
  OsftOptions o;
  o.rank.policy = RankPolicyKind::schedule;
  o.calibration_samples = 2;
  OsftStrategy osft(o);
  std::vector<Example> previous = byte_examples({"one two", "three four", "five six"});
  osft.before_task(3, 4, previous);
  previous.clear();  // the strategy keeps its own copy
  EXPECT_EQ(osft.options().rank.task_index, 3);
  EXPECT_EQ(osft.options().rank.num_tasks, 4);
  ASSERT_NE(osft.options().calibration, nullptr);
  EXPECT_EQ(osft.options().calibration->size(), 2u);
  EXPECT_EQ(osft.options().calibration->at(1).target_text, "our");
}

}  // namespace
}  // namespace sculpt
