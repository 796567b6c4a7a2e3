#include <gtest/gtest.h>

#include <cmath>
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
