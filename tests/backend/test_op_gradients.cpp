// Finite-difference checks of every op's backward, in double precision. Each op's output y is
// reduced to L = Σ c ⊙ y with fixed random c, so dL/dy = c; central differences of L with
// step 1e-6 must match the analytic gradient to ~1e-7 relative.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <functional>
#include <vector>

#include "sculpt/backend/cpu/attention.h"
#include "sculpt/backend/cpu/cross_entropy.h"
#include "sculpt/backend/cpu/rmsnorm.h"
#include "sculpt/backend/cpu/rope.h"
#include "sculpt/backend/cpu/swiglu.h"
#include "sculpt/core/error.h"
#include "sculpt/core/rng.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/model/rope_frequencies.h"

namespace sculpt {
namespace {

using Vec = std::vector<double>;

Vec random_vec(size_t n, uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  Vec v(n);
  for (auto& x : v) x = scale * rng.normal();
  return v;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Compares `analytic` with central differences of `loss` w.r.t. every element of `x`.
void expect_matches_fd(Vec& x, const Vec& analytic, const std::function<double()>& loss, const char* what) {
  ASSERT_EQ(x.size(), analytic.size());
  const double h = 1e-6;
  double worst = 0, scale = 1e-8;
  for (size_t i = 0; i < x.size(); ++i) {
    const double keep = x[i];
    x[i] = keep + h;
    const double up = loss();
    x[i] = keep - h;
    const double down = loss();
    x[i] = keep;
    const double fd = (up - down) / (2 * h);
    worst = std::max(worst, std::fabs(fd - analytic[i]));
    scale = std::max(scale, std::fabs(fd));
  }
  EXPECT_LE(worst / scale, 1e-6) << what << ": worst abs diff " << worst << " (scale " << scale << ")";
}

TEST(OpGradients, RmsNorm) {
  const int64_t rows = 3, dim = 7;
  Vec x = random_vec(rows * dim, 1), w = random_vec(dim, 2), c = random_vec(rows * dim, 3);
  auto loss = [&] {
    Vec y(x.size());
    rmsnorm_forward(x.data(), w.data(), y.data(), rows, dim, 1e-5);
    return dot(c, y);
  };
  Vec y(x.size()), inv(rows), dx(x.size(), 0), dw(dim, 0);
  rmsnorm_forward(x.data(), w.data(), y.data(), rows, dim, 1e-5, inv.data());
  rmsnorm_backward(x.data(), w.data(), inv.data(), c.data(), dx.data(), dw.data(), rows, dim);
  expect_matches_fd(x, dx, loss, "dx");
  expect_matches_fd(w, dw, loss, "dweight");
  // Write::overwrite for dx and for dw: each writes over what its buffer held (NaN here) and
  // gives the accumulated result; the other keeps accumulating.
  const double nan = std::nan("");
  Vec dx2(x.size(), nan), dw2 = dw;
  rmsnorm_backward(x.data(), w.data(), inv.data(), c.data(), dx2.data(), dw2.data(), rows, dim, Write::overwrite);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_DOUBLE_EQ(dx2[i], dx[i]) << i;
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw2[i], 2 * dw[i], 1e-12) << i;
  Vec dx3 = dx, dw3(dw.size(), nan);
  rmsnorm_backward(x.data(), w.data(), inv.data(), c.data(), dx3.data(), dw3.data(), rows, dim, Write::accumulate,
                   Write::overwrite);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx3[i], 2 * dx[i], 1e-12) << i;
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_DOUBLE_EQ(dw3[i], dw[i]) << i;
}

TEST(OpGradients, Rope) {
  ModelConfig cfg;
  cfg.head_dim = 6;
  cfg.rope_theta = 100.0;
  RopeTable table(rope_inverse_frequencies(cfg), 16);
  const int64_t rows = 4, heads = 2;
  std::vector<int64_t> pos{0, 3, 7, 15};
  Vec x = random_vec(rows * heads * 6, 4), c = random_vec(x.size(), 5);
  auto loss = [&] {
    Vec y = x;
    rope_forward(y.data(), pos.data(), rows, heads, 6, table);
    return dot(c, y);
  };
  Vec dx = c;
  rope_backward(dx.data(), pos.data(), rows, heads, 6, table);
  expect_matches_fd(x, dx, loss, "dx");
}

TEST(OpGradients, GroupedQueryAttentionWithWindowAndOffsets) {
  for (int64_t window : {0, 3}) {
    const AttentionShape s{2, 4, 6, 4, 2, 3, window};  // B 2, T 4 queries over S 6 key slots
    std::vector<int64_t> start{0, 2};                   // second sequence continues a cache
    Vec q = random_vec(2 * 4 * 12, 6), k = random_vec(2 * 6 * 6, 7), v = random_vec(2 * 6 * 6, 8);
    Vec c = random_vec(q.size(), 9);
    std::vector<double> scratch(static_cast<size_t>(attention_scratch_size(s, omp_get_max_threads())));
    auto loss = [&] {
      Vec out(q.size());
      attention_forward(q.data(), k.data(), v.data(), out.data(), start.data(), s, scratch.data());
      return dot(c, out);
    };
    // Gradients start as garbage: they are written, key slots no query sees included.
    Vec out(q.size()), lse(2 * 4 * 4), dq(q.size(), 5.0), dk(k.size(), -2.0), dv(v.size(), 3.0);
    attention_forward(q.data(), k.data(), v.data(), out.data(), start.data(), s, scratch.data(), lse.data());
    attention_backward(q.data(), k.data(), v.data(), out.data(), lse.data(), c.data(), dq.data(), dk.data(), dv.data(),
                       start.data(), s, scratch.data());
    expect_matches_fd(q, dq, loss, "dq");
    expect_matches_fd(k, dk, loss, "dk");
    expect_matches_fd(v, dv, loss, "dv");
  }
}

TEST(OpGradients, Swiglu) {
  Vec g = random_vec(9, 10, 3.0), u = random_vec(9, 11), c = random_vec(9, 12);
  auto loss = [&] {
    Vec out(9);
    swiglu_forward(g.data(), u.data(), out.data(), 9);
    return dot(c, out);
  };
  Vec dg(9, 7.0), du(9, -3.0);  // overwritten, not accumulated into
  swiglu_backward(g.data(), u.data(), c.data(), dg.data(), du.data(), 9);
  expect_matches_fd(g, dg, loss, "dgate");
  expect_matches_fd(u, du, loss, "dup");
}

TEST(OpGradients, Linear) {
  const int64_t rows = 3, in = 5, out = 4;
  Vec x = random_vec(rows * in, 13), w = random_vec(out * in, 14), b = random_vec(out, 15), c = random_vec(rows * out, 16);
  auto loss = [&] {
    Vec y(rows * out);
    linear_forward(x.data(), w.data(), b.data(), y.data(), rows, in, out);
    return dot(c, y);
  };
  Vec dx(x.size(), 0), dw(w.size(), 0), db(out, 0);
  linear_backward(x.data(), w.data(), c.data(), dx.data(), dw.data(), db.data(), rows, in, out);
  expect_matches_fd(x, dx, loss, "dx");
  expect_matches_fd(w, dw, loss, "dweight");
  expect_matches_fd(b, db, loss, "dbias");
  // Write::overwrite writes dx whatever it held; dW and db still accumulate.
  Vec dx2(x.size(), 9.0), dw2 = dw, db2 = db;
  linear_backward(x.data(), w.data(), c.data(), dx2.data(), dw2.data(), db2.data(), rows, in, out, Write::overwrite);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_DOUBLE_EQ(dx2[i], dx[i]) << i;
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_NEAR(dw2[i], 2 * dw[i], 1e-12) << i;
  for (size_t i = 0; i < db.size(); ++i) EXPECT_NEAR(db2[i], 2 * db[i], 1e-12) << i;
  // dw_write = overwrite writes dW and db over NaN; dx accumulates.
  const double nan = std::nan("");
  Vec dx3 = dx, dw3(w.size(), nan), db3(out, nan);
  linear_backward(x.data(), w.data(), c.data(), dx3.data(), dw3.data(), db3.data(), rows, in, out, Write::accumulate,
                  Write::overwrite);
  for (size_t i = 0; i < dx.size(); ++i) EXPECT_NEAR(dx3[i], 2 * dx[i], 1e-12) << i;
  for (size_t i = 0; i < dw.size(); ++i) EXPECT_DOUBLE_EQ(dw3[i], dw[i]) << i;
  for (size_t i = 0; i < db.size(); ++i) EXPECT_DOUBLE_EQ(db3[i], db[i]) << i;
}

TEST(OpGradients, MaskedCrossEntropy) {
  const int64_t rows = 4, vocab = 6;
  Vec logits = random_vec(rows * vocab, 17, 2.0);
  std::vector<int32_t> targets{1, 5, 0, 3};
  Vec weight{0.5, 0.0, 0.25, 0.25};  // row 1 is masked out
  auto loss = [&] {
    Vec copy = logits;
    return cross_entropy_forward_backward(copy.data(), targets.data(), weight.data(), rows, vocab);
  };
  Vec grad = logits;
  cross_entropy_forward_backward(grad.data(), targets.data(), weight.data(), rows, vocab);
  for (int64_t i = 0; i < vocab; ++i) EXPECT_EQ(grad[vocab + i], 0.0);
  expect_matches_fd(logits, grad, loss, "dlogits");
}

TEST(OpGradients, CrossEntropyRejectsTargetsOutsideVocab) {
  Vec logits(6, 0.0), weight{1.0};
  std::vector<int32_t> targets{6};
  EXPECT_THROW(cross_entropy_forward_backward(logits.data(), targets.data(), weight.data(), 1, 6), Error);
}

}  // namespace
}  // namespace sculpt
