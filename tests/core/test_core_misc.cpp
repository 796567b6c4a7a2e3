#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <vector>
#include <filesystem>
#include <fstream>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/core/threads.h"
#include "test_support.h"

namespace sculpt {
namespace {

TEST(Error, OneLineCarriesWhereWhatAndHint) {
  Error e("bad thing\nhappened", "file.json:3", "do this");
  EXPECT_EQ(e.one_line(), "file.json:3: bad thing happened (hint: do this)");
  EXPECT_EQ(Error("x").one_line(), "x");
}

TEST(Rng, IsDeterministicAndRestorable) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  auto state = a.state();
  uint64_t x = a.next_u64();
  a.set_state(state);
  EXPECT_EQ(a.next_u64(), x);
}

TEST(Rng, MomentsOfUniformAndNormal) {
  Rng rng(1);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    float u = rng.uniform();
    ASSERT_GE(u, 0.f);
    ASSERT_LT(u, 1.f);
    su += u;
    double z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.01);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) counts[rng.below(7)]++;
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

// shuffle(): a permutation, each of the 6 orders of 3 items about equally often, and the very
// order of the loop it replaced (so seeded data orders and resumed runs stay as they were).
TEST(Rng, ShuffleIsAUniformPermutationInTheSeededOrder) {
  Rng rng(11), ref_rng(11);
  std::vector<int> v(50), ref(50);
  std::iota(v.begin(), v.end(), 0);
  ref = v;
  shuffle(v, rng);
  for (size_t i = ref.size() - 1; i > 0; --i) std::swap(ref[i], ref[ref_rng.below(i + 1)]);
  EXPECT_EQ(v, ref);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);

  std::map<std::vector<int>, int> counts;
  for (int draw = 0; draw < 6000; ++draw) {
    std::vector<int> three = {0, 1, 2};
    shuffle(three, rng);
    ++counts[three];
  }
  ASSERT_EQ(counts.size(), 6u);
  for (const auto& [order, n] : counts) EXPECT_NEAR(n, 1000, 150);  // ±4.6 standard deviations

  std::vector<int> empty, one = {7};
  const auto before = rng.state();
  shuffle(empty, rng);
  shuffle(one, rng);
  EXPECT_EQ(one, std::vector<int>{7});
  EXPECT_EQ(rng.state(), before);  // nothing drawn for fewer than two items
}

TEST(Threads, OneOpenMpRuntimeForBlasAndOurLoops) {
  // The OpenMP build of OpenBLAS shares libgomp with sculpt's loops (see core/threads.h).
  EXPECT_STREQ(blas_threading_runtime(), "openmp");
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  set_num_threads(0);
  EXPECT_GE(num_threads(), 1);
}

TEST(AtomicFile, ReplacesWholeFileAndLeavesNoTemporary) {
  testing::TempDir dir;
  const std::string path = dir / "out.txt";
  write_text_atomic(path, "first");
  write_text_atomic(path, "second");
  EXPECT_EQ(read_text_file(path), "second");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, FailureKeepsPreviousContents) {
  testing::TempDir dir;
  const std::string path = dir / "out.txt";
  write_text_atomic(path, "good");
  EXPECT_THROW(write_file_atomic(path, [](std::ostream& out) {
                 out << "partial";
                 throw Error("simulated failure");
               }),
               Error);
  EXPECT_EQ(read_text_file(path), "good");
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
}

TEST(AtomicFile, MissingDirectoryIsAClearError) {
  try {
    write_text_atomic("/nonexistent-dir/x.txt", "data");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("/nonexistent-dir"), std::string::npos);
  }
}

}  // namespace
}  // namespace sculpt
