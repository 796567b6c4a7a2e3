// Every backend against the double-precision oracle (reference_ops.h): the values of each
// forward, and each backward against central finite differences of the oracle's forward, over
// shapes from one element to sizes that cross the kernels' blocking (SIMD tails, the attention's
// 64-row query blocks, GEMM splits). A new backend joins available_backends() and runs this suite
// unchanged; its tensors travel through Backend::zeros and Backend::copy only.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "reference_ops.h"
#include "sculpt/backend/backend.h"
#include "sculpt/core/error.h"
#include "sculpt/linalg/bf16_gemm.h"

// Its own namespace: in a unity build this file shares a translation unit with other op tests.
namespace sculpt::conformance {
namespace {

using reference::Vec;

Vec random_values(size_t n, uint32_t seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, scale);
  Vec v(n);
  // Rounded to float, so that the oracle sees exactly what the backend sees.
  for (double& x : v) x = static_cast<float>(dist(gen));
  return v;
}

// The largest |got − want| over the largest |want|: the error relative to the result's range.
double range_error(const Vec& got, const Vec& want) {
  EXPECT_EQ(got.size(), want.size());
  double err = 0, range = 1e-30;
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - want[i]));
    range = std::max(range, std::fabs(want[i]));
  }
  return err / range;
}

class BackendConformance : public ::testing::TestWithParam<Backend*> {
 protected:
  Backend& be() { return *GetParam(); }
  // A device tensor holding `values` as `dtype`.
  Tensor put(const Vec& values, Shape shape, DType dtype = DType::f32) {
    Tensor host = Tensor::zeros(shape);
    for (size_t i = 0; i < values.size(); ++i) host[static_cast<int64_t>(i)] = static_cast<float>(values[i]);
    Tensor dev = be().zeros(shape, dtype);
    be().copy(host, dev);
    return dev;
  }
  Vec get(const Tensor& dev) {
    be().sync();
    Tensor host = Tensor::zeros(dev.shape());
    be().copy(dev, host);
    return Vec(host.data(), host.data() + host.numel());
  }
};

// L = Σ c ⊙ f(x): the scalar whose gradient a backward receiving dy = c returns.
double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// ---------------------------------------------------------------- matmul

struct GemmCase {
  int64_t m, n, k;
};
const GemmCase kGemmCases[] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 9}, {64, 65, 130}, {130, 3, 64}};

// Elementwise bound of a float GEMM: |c − ĉ| ≤ γ · (|alpha| · |op(a)|·|op(b)| + |beta · c0|) with
// γ a few k units of float rounding (the sum of k products, in any order).
void expect_gemm_close(const Vec& got, const Vec& a, bool ta, const Vec& b, bool tb, const GemmCase& g, double alpha,
                       double beta, const Vec& c0, const std::string& what) {
  Vec abs_a(a.size()), abs_b(b.size());
  std::transform(a.begin(), a.end(), abs_a.begin(), [](double x) { return std::fabs(x); });
  std::transform(b.begin(), b.end(), abs_b.begin(), [](double x) { return std::fabs(x); });
  const Vec want = reference::matmul(a, ta, b, tb, g.m, g.n, g.k, alpha, beta, c0);
  const Vec bound = reference::matmul(abs_a, ta, abs_b, tb, g.m, g.n, g.k, std::fabs(alpha), 0.0, c0);
  const double gamma = 4.0 * static_cast<double>(g.k + 2) * std::ldexp(1.0, -24);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_LE(std::fabs(got[i] - want[i]), gamma * (bound[i] + std::fabs(beta * c0[i])) + 1e-30)
        << what << " element " << i;
}

TEST_P(BackendConformance, MatmulEveryTransposeAgainstTheOracle) {
  uint32_t seed = 1;
  for (const GemmCase& g : kGemmCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0}) {
          const Vec a = random_values(g.m * g.k, seed++), b = random_values(g.k * g.n, seed++);
          const Vec c0 = random_values(g.m * g.n, seed++);
          Tensor ta_t = put(a, ta ? Shape{g.k, g.m} : Shape{g.m, g.k});
          Tensor tb_t = put(b, tb ? Shape{g.n, g.k} : Shape{g.k, g.n});
          Tensor c = put(c0, {g.m, g.n});
          const double alpha = 0.75;
          be().matmul(ta_t, ta ? Trans::yes : Trans::no, tb_t, tb ? Trans::yes : Trans::no, c, alpha, beta);
          expect_gemm_close(get(c), a, ta, b, tb, g, alpha, beta, c0,
                            "m" + std::to_string(g.m) + " n" + std::to_string(g.n) + " k" + std::to_string(g.k) +
                                (ta ? " aT" : "") + (tb ? " bT" : "") + " beta " + std::to_string(beta));
        }
}

TEST_P(BackendConformance, MatmulInBf16IsTheExactProductOfTheRoundedOperands) {
  if (!bf16_gemm_available()) GTEST_SKIP() << "this build has no bf16 GEMM (oneDNN not found)";
  uint32_t seed = 100;
  for (const GemmCase& g : kGemmCases)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (double beta : {0.0, 1.0}) {
          Vec a = random_values(g.m * g.k, seed++), b = random_values(g.k * g.n, seed++);
          const Vec c0 = random_values(g.m * g.n, seed++);
          Tensor a16 = put(a, ta ? Shape{g.k, g.m} : Shape{g.m, g.k}, DType::bf16);
          Tensor b16 = put(b, tb ? Shape{g.n, g.k} : Shape{g.k, g.n}, DType::bf16);
          Tensor c = put(c0, {g.m, g.n});
          be().matmul(a16, ta ? Trans::yes : Trans::no, b16, tb ? Trans::yes : Trans::no, c, 1.f,
                      static_cast<float>(beta));
          // The oracle multiplies the operands as the backend holds them: rounded to bf16.
          for (double& x : a) x = reference::round_to_bf16(static_cast<float>(x));
          for (double& x : b) x = reference::round_to_bf16(static_cast<float>(x));
          expect_gemm_close(get(c), a, ta, b, tb, g, 1.0, beta, c0, "bf16 m" + std::to_string(g.m));
        }
}

TEST_P(BackendConformance, MatmulRefusesMismatchedShapes) {
  Tensor a = be().zeros({3, 4}, DType::f32), b = be().zeros({5, 2}, DType::f32), c = be().zeros({3, 2}, DType::f32);
  EXPECT_THROW(be().matmul(a, Trans::no, b, Trans::no, c, 1.f, 0.f), Error);
}

// ---------------------------------------------------------------- bias rows

TEST_P(BackendConformance, BiasOverRowsAndItsBackward) {
  for (auto [rows, n] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 7}, {33, 65}}) {
    const Vec bias = random_values(n, 30), y0 = random_values(rows * n, 31);
    auto add = [&](const Vec& b, const Vec& base) {
      Vec y = base;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t o = 0; o < n; ++o) y[r * n + o] += b[o];
      return y;
    };
    Tensor y = put(y0, {rows, n});
    be().add_rows(put(bias, {n}), y, Write::accumulate);
    EXPECT_LE(range_error(get(y), add(bias, y0)), 1e-7) << rows << "x" << n;
    Tensor y2 = put(Vec(rows * n, std::nan("")), {rows, n});
    be().add_rows(put(bias, {n}), y2, Write::overwrite);
    EXPECT_EQ(get(y2), add(bias, Vec(rows * n, 0.0))) << rows << "x" << n;
    // sum_rows is add_rows' backward: ∂/∂b Σ dy ⊙ (y0 + b).
    const Vec dy = random_values(rows * n, 32), db0 = random_values(n, 33);
    const Vec fd = reference::finite_differences(bias, [&](const Vec& b) { return dot(dy, add(b, y0)); }, 1e-2);
    Tensor db = put(db0, {n});
    be().sum_rows(put(dy, {rows, n}), db, Write::accumulate);
    Vec want = db0;
    for (int64_t o = 0; o < n; ++o) want[o] += fd[o];
    EXPECT_LE(range_error(get(db), want), 1e-6) << rows << "x" << n;
    Tensor db2 = put(Vec(n, std::nan("")), {n});
    be().sum_rows(put(dy, {rows, n}), db2, Write::overwrite);
    EXPECT_LE(range_error(get(db2), fd), 1e-6) << rows << "x" << n;
  }
}

// ---------------------------------------------------------------- embedding

TEST_P(BackendConformance, EmbeddingGatherAndScatterAdd) {
  for (int64_t D : {1, 7, 64}) {
    const int64_t V = 11;
    const std::vector<int32_t> ids{3, 0, 10, 3, 3, 7};  // repeats add up
    const Vec table = random_values(V * D, 7 + D);
    Tensor out = be().zeros({static_cast<int64_t>(ids.size()), D}, DType::f32);
    be().embedding_forward(put(table, {V, D}), ids, out);
    EXPECT_EQ(get(out), reference::embedding(table, ids, D)) << "D " << D;

    const Vec dout = random_values(ids.size() * D, 8 + D), start = random_values(V * D, 9 + D);
    Tensor dtable = put(start, {V, D});
    be().embedding_backward(put(dout, {static_cast<int64_t>(ids.size()), D}), ids, dtable);
    // Gradient of L = Σ dout ⊙ table[ids] with respect to the table, by finite differences.
    const Vec fd = reference::finite_differences(
        table, [&](const Vec& t) { return dot(dout, reference::embedding(t, ids, D)); }, 1e-3);
    Vec want = start;
    for (size_t i = 0; i < want.size(); ++i) want[i] += fd[i];
    EXPECT_LE(range_error(get(dtable), want), 1e-6) << "D " << D;
  }
  Tensor out = be().zeros({1, 2}, DType::f32);
  const std::vector<int32_t> bad{5};
  EXPECT_THROW(be().embedding_forward(be().zeros({5, 2}, DType::f32), bad, out), Error);
}

// ---------------------------------------------------------------- RMSNorm

TEST_P(BackendConformance, RmsNormForwardAndBackward) {
  uint32_t seed = 20;
  for (auto [rows, D] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 16}, {3, 7}, {5, 33}, {4, 576}}) {
    const Vec x = random_values(rows * D, seed++, 2.0), w = random_values(D, seed++);
    const double eps = 1e-5;
    Vec inv_want;
    const Vec y_want = reference::rmsnorm(x, w, eps, &inv_want);
    Tensor xt = put(x, {rows, D}), wt = put(w, {D}), y = be().zeros({rows, D}, DType::f32);
    Tensor inv = be().zeros({rows}, DType::f32);
    be().rmsnorm_forward(xt, wt, static_cast<float>(eps), y, &inv);
    EXPECT_LE(range_error(get(y), y_want), 1e-6) << rows << "x" << D;
    EXPECT_LE(range_error(get(inv), inv_want), 1e-6) << rows << "x" << D;

    // Backward, accumulating onto prior contents: dx = prior + ∂L/∂x, dw = prior + ∂L/∂w.
    const Vec dy = random_values(rows * D, seed++), dx0 = random_values(rows * D, seed++), dw0 = random_values(D, seed++);
    Tensor dx = put(dx0, {rows, D}), dw = put(dw0, {D});
    be().rmsnorm_backward(xt, wt, inv, put(dy, {rows, D}), dx, dw, Write::accumulate, Write::accumulate);
    Vec gx = reference::finite_differences(x, [&](const Vec& xv) { return dot(dy, reference::rmsnorm(xv, w, eps)); }, 1e-4);
    Vec gw = reference::finite_differences(w, [&](const Vec& wv) { return dot(dy, reference::rmsnorm(x, wv, eps)); }, 1e-4);
    Vec want_dx = dx0, want_dw = dw0;
    for (size_t i = 0; i < gx.size(); ++i) want_dx[i] += gx[i];
    for (size_t i = 0; i < gw.size(); ++i) want_dw[i] += gw[i];
    EXPECT_LE(range_error(get(dx), want_dx), 2e-5) << rows << "x" << D;
    EXPECT_LE(range_error(get(dw), want_dw), 2e-5) << rows << "x" << D;
    // Overwriting ignores what the buffers held. dx = r·g − x·r³/D·Σ g·x cancels (entirely as D → 1,
    // where dx ~ eps), so its float error is measured against its terms' size |dy ⊙ w|·r.
    Tensor dx2 = put(Vec(rows * D, std::nan("")), {rows, D}), dw2 = put(Vec(D, std::nan("")), {D});
    be().rmsnorm_backward(xt, wt, inv, put(dy, {rows, D}), dx2, dw2, Write::overwrite, Write::overwrite);
    const Vec got_dx = get(dx2);
    double terms = 0, err = 0;
    for (int64_t i = 0; i < rows * D; ++i) {
      terms = std::max(terms, std::fabs(dy[i] * w[i % D]) * inv_want[i / D]);
      err = std::max(err, std::fabs(got_dx[i] - gx[i]));
    }
    EXPECT_LE(err / terms, 2e-6) << rows << "x" << D;
    EXPECT_LE(range_error(get(dw2), gw), 2e-5) << rows << "x" << D;
  }
}

// ---------------------------------------------------------------- RoPE

TEST_P(BackendConformance, RopeForwardAndBackward) {
  uint32_t seed = 40;
  for (auto [n_heads, head_dim] : std::vector<std::pair<int64_t, int64_t>>{{1, 2}, {2, 6}, {3, 64}}) {
    Vec inv_freq;
    for (int64_t i = 0; i < head_dim / 2; ++i) inv_freq.push_back(std::pow(500.0, -2.0 * i / head_dim));
    const RopeTable table(inv_freq, 40);
    const std::vector<int64_t> positions{0, 1, 39, 17, 5};
    const int64_t rows = static_cast<int64_t>(positions.size()), width = n_heads * head_dim;
    const Vec x = random_values(rows * width, seed++);
    Tensor xt = put(x, {rows, width});
    be().rope_forward(xt, positions, n_heads, table);
    EXPECT_LE(range_error(get(xt), reference::rope(x, positions, n_heads, inv_freq)), 1e-6) << head_dim;

    const Vec dy = random_values(rows * width, seed++);
    Tensor dx = put(dy, {rows, width});
    be().rope_backward(dx, positions, n_heads, table);
    const Vec fd = reference::finite_differences(
        x, [&](const Vec& xv) { return dot(dy, reference::rope(xv, positions, n_heads, inv_freq)); }, 1e-4);
    EXPECT_LE(range_error(get(dx), fd), 1e-5) << head_dim;
  }
}

// ---------------------------------------------------------------- attention

struct AttentionCase {
  AttentionShape shape;
  std::vector<int64_t> start;
};

std::vector<AttentionCase> attention_cases() {
  return {
      {{1, 1, 1, 1, 1, 2, 0}, {0}},           // one query, one key
      {{2, 5, 5, 4, 2, 6, 0}, {0, 0}},        // grouped heads, odd length
      {{2, 5, 5, 4, 2, 6, 3}, {0, 0}},        // sliding window
      {{1, 70, 70, 2, 1, 8, 0}, {0}},         // crosses the 64-row query block
      {{2, 3, 9, 2, 2, 4, 0}, {6, 2}},        // queries after a cached prefix (decoding)
      {{1, 1, 9, 3, 1, 4, 4}, {8}},           // one decoding step, windowed
  };
}

TEST_P(BackendConformance, AttentionForwardAndBackward) {
  uint32_t seed = 60;
  for (const AttentionCase& c : attention_cases()) {
    const AttentionShape& s = c.shape;
    const std::string name = "B" + std::to_string(s.batch) + " T" + std::to_string(s.q_len) + " S" +
                             std::to_string(s.kv_capacity) + " window " + std::to_string(s.window);
    const int64_t nq = s.batch * s.q_len * s.n_heads * s.head_dim, nk = s.batch * s.kv_capacity * s.n_kv_heads * s.head_dim;
    const Vec q = random_values(nq, seed++), k = random_values(nk, seed++), v = random_values(nk, seed++);
    const Shape qs{s.batch, s.q_len, s.n_heads * s.head_dim}, ks{s.batch, s.kv_capacity, s.n_kv_heads * s.head_dim};
    Tensor qt = put(q, qs), kt = put(k, ks), vt = put(v, ks), out = be().zeros(qs, DType::f32);
    Tensor lse = be().zeros({s.batch, s.n_heads, s.q_len}, DType::f32);
    Tensor work = be().zeros({be().attention_workspace(s)}, DType::f32);
    be().attention_forward(qt, kt, vt, out, c.start, s, work, &lse);
    Vec lse_want;
    const Vec out_want = reference::attention(q, k, v, c.start, s, &lse_want);
    EXPECT_LE(range_error(get(out), out_want), 2e-6) << name;
    EXPECT_LE(range_error(get(lse), lse_want), 1e-6) << name;

    const Vec dout = random_values(nq, seed++);
    Tensor dq = be().zeros(qs, DType::f32), dk = be().zeros(ks, DType::f32), dv = be().zeros(ks, DType::f32);
    be().attention_backward(qt, kt, vt, out, lse, put(dout, qs), dq, dk, dv, c.start, s, work);
    // Every element of small cases, every 5th of the large one.
    auto pick = [](size_t n) {
      std::vector<size_t> idx;
      for (size_t i = 0; i < n; i += n > 1000 ? 5 : 1) idx.push_back(i);
      return idx;
    };
    auto loss = [&](const Vec& qv, const Vec& kv, const Vec& vv) {
      return dot(dout, reference::attention(qv, kv, vv, c.start, s));
    };
    auto only = [&](const Vec& got, const Vec& fd) {  // compare at the probed indices
      Vec g, f;
      for (size_t i = 0; i < fd.size(); ++i)
        if (!std::isnan(fd[i])) g.push_back(got[i]), f.push_back(fd[i]);
      return range_error(g, f);
    };
    const double h = 1e-4;
    EXPECT_LE(only(get(dq), reference::finite_differences(q, [&](const Vec& x) { return loss(x, k, v); }, h, pick(q.size()))), 2e-5) << name;
    EXPECT_LE(only(get(dk), reference::finite_differences(k, [&](const Vec& x) { return loss(q, x, v); }, h, pick(k.size()))), 2e-5) << name;
    EXPECT_LE(only(get(dv), reference::finite_differences(v, [&](const Vec& x) { return loss(q, k, x); }, h, pick(v.size()))), 2e-5) << name;
  }
}

// ---------------------------------------------------------------- SwiGLU

TEST_P(BackendConformance, SwigluForwardAndBackward) {
  uint32_t seed = 80;
  for (int64_t n : {1, 7, 16, 1001}) {
    const Vec gate = random_values(n, seed++, 3.0), up = random_values(n, seed++);
    Tensor g = put(gate, {n}), u = put(up, {n}), out = be().zeros({n}, DType::f32);
    be().swiglu_forward(g, u, out);
    EXPECT_LE(range_error(get(out), reference::swiglu(gate, up)), 1e-6) << n;

    const Vec dout = random_values(n, seed++);
    Tensor dg = be().zeros({n}, DType::f32), du = be().zeros({n}, DType::f32);
    be().swiglu_backward(g, u, put(dout, {n}), dg, du);
    EXPECT_LE(range_error(get(dg), reference::finite_differences(
                                       gate, [&](const Vec& x) { return dot(dout, reference::swiglu(x, up)); }, 1e-4)),
              1e-5) << n;
    EXPECT_LE(range_error(get(du), reference::finite_differences(
                                       up, [&](const Vec& x) { return dot(dout, reference::swiglu(gate, x)); }, 1e-4)),
              1e-5) << n;
  }
}

// ---------------------------------------------------------------- cross-entropy

TEST_P(BackendConformance, CrossEntropyLossAndGradient) {
  uint32_t seed = 90;
  for (auto [rows, V] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {1, 3}, {4, 37}, {3, 1000}}) {
    const Vec logits = random_values(rows * V, seed++, 4.0);
    std::vector<int32_t> targets;
    Vec weight;
    for (int64_t r = 0; r < rows; ++r) {
      const bool masked = rows > 1 && r == 1;  // a prompt row: weight 0, no valid target needed
      targets.push_back(masked ? -1 : static_cast<int32_t>((r * 7 + 2) % V));
      weight.push_back(masked ? 0.0 : 0.5 + 0.25 * static_cast<double>(r));
    }
    Tensor lt = put(logits, {rows, V});
    const double loss = be().cross_entropy(lt, targets, put(weight, {rows}));
    const double want = reference::cross_entropy(logits, targets, weight, V);
    EXPECT_NEAR(loss, want, 1e-6 * std::max(1.0, std::fabs(want))) << rows << "x" << V;
    const Vec fd = reference::finite_differences(
        logits, [&](const Vec& x) { return reference::cross_entropy(x, targets, weight, V); }, 1e-4);
    EXPECT_LE(range_error(get(lt), fd), 1e-5) << rows << "x" << V;
  }
}

// ---------------------------------------------------------------- AdamW, reductions, copies

TEST_P(BackendConformance, AdamWOverAFlatSpan) {
  for (int64_t n : {1, 17, 40000}) {  // the last runs threaded
    for (bool defer : {false, true}) {
      Vec w = random_values(n, 1), g = random_values(n, 2), m = random_values(n, 3, 0.1), v = random_values(n, 4, 0.1);
      for (double& x : v) x = static_cast<float>(std::fabs(x));
      Tensor wt = put(w, {n}), gt = put(g, {n}), mt = put(m, {n}), vt = put(v, {n});
      const double b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1, lr = 1e-3, scale = 0.5;
      const int64_t t = 3;
      const AdamWScalars k{static_cast<float>(b1), static_cast<float>(b2), static_cast<float>(eps),
                           static_cast<float>(wd), static_cast<float>(lr),
                           static_cast<float>(1.0 / (1 - std::pow(b1, t))),
                           static_cast<float>(1.0 / std::sqrt(1 - std::pow(b2, t)))};
      be().adamw(wt, gt, mt, vt, k, static_cast<float>(scale), defer);
      reference::adamw(w, g, m, v, b1, b2, eps, wd, lr, t, scale, defer);
      EXPECT_LE(range_error(get(mt), m), 1e-6) << n;
      EXPECT_LE(range_error(get(vt), v), 1e-6) << n;
      if (defer) {
        EXPECT_LE(range_error(get(gt), g), 1e-5) << n;
        EXPECT_EQ(get(wt), random_values(n, 1)) << "deferred step left w untouched";
      } else {
        // w − step rounds once in float (half an ulp of w); the step itself to float accuracy.
        const Vec got = get(wt), w0 = random_values(n, 1);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_LE(std::fabs(got[i] - w[i]), std::ldexp(std::fabs(w[i]), -24) + 1e-5 * std::fabs(w0[i] - w[i]))
              << n << " element " << i;
      }
    }
  }
}

TEST_P(BackendConformance, ScaledAdditions) {
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 7}, {40, 1000}}) {
    const int64_t n = rows * cols;
    const Vec x = random_values(n, 70), y = random_values(n, 71), sr = random_values(rows, 72), sc = random_values(cols, 73);
    const float alpha = -0.625f;
    Vec want_axpy(n), want_rows(n), want_cols(n);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const int64_t e = i * cols + j;
        want_axpy[e] = x[e] + alpha * y[e];
        want_rows[e] = x[e] + alpha * sr[i] * y[e];
        want_cols[e] = x[e] + alpha * y[e] * sc[j];
      }
    Tensor t = put(x, {rows, cols});
    be().axpy(t, put(y, {rows, cols}), alpha);
    EXPECT_LE(range_error(get(t), want_axpy), 2e-7) << rows << "x" << cols;
    t = put(x, {rows, cols});
    be().add_scaled_rows(t, put(sr, {rows}), put(y, {rows, cols}), alpha);
    EXPECT_LE(range_error(get(t), want_rows), 2e-7) << rows << "x" << cols;
    t = put(x, {rows, cols});
    be().add_scaled_columns(t, put(y, {rows, cols}), put(sc, {cols}), alpha);
    EXPECT_LE(range_error(get(t), want_cols), 2e-7) << rows << "x" << cols;
  }
}

TEST_P(BackendConformance, CopyColumnsTakesABlockOfColumns) {
  for (auto [rows, cols, begin, width] : std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t>>{
           {1, 1, 0, 1}, {5, 9, 0, 4}, {5, 9, 4, 5}, {40, 33, 7, 0}, {3, 4, 4, 0}}) {
    const Vec x = random_values(rows * cols, 110);
    Tensor dst = be().zeros({rows, width}, DType::f32);
    be().copy_columns(put(x, {rows, cols}), begin, dst);
    Vec want;
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = begin; j < begin + width; ++j) want.push_back(x[static_cast<size_t>(i * cols + j)]);
    EXPECT_EQ(get(dst), want) << rows << "x" << cols << " from " << begin;
  }
  Tensor too_wide = be().zeros({5, 3}, DType::f32);
  EXPECT_THROW(be().copy_columns(put(random_values(45, 111), {5, 9}), 7, too_wide), Error);
}

TEST_P(BackendConformance, RowAndColumnScalingsAndColumnDots) {
  for (auto [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 7}, {40, 1000}, {1000, 3}}) {
    const int64_t n = rows * cols;
    const Vec x = random_values(n, 80), y = random_values(n, 81), sr = random_values(rows, 82), sc = random_values(cols, 83);
    Vec want_rows(n), want_cols(n), want_dots(cols, 0.0);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        const int64_t e = i * cols + j;
        want_rows[e] = static_cast<float>(static_cast<float>(x[e]) * static_cast<float>(sr[i]));  // one rounding
        want_cols[e] = static_cast<float>(static_cast<float>(x[e]) * static_cast<float>(sc[j]));
        want_dots[j] += x[e] * y[e];
      }
    Tensor t = put(x, {rows, cols});
    be().scale_rows(t, put(sr, {rows}));
    EXPECT_EQ(get(t), want_rows) << rows << "x" << cols;
    t = put(x, {rows, cols});
    be().scale_columns(t, put(sc, {cols}));
    EXPECT_EQ(get(t), want_cols) << rows << "x" << cols;
    // Accumulated in double, so each is the double sum rounded once to float.
    Tensor dots = be().zeros({cols}, DType::f32);
    be().column_dots(put(x, {rows, cols}), put(y, {rows, cols}), dots);
    const Vec got = get(dots);
    for (int64_t j = 0; j < cols; ++j)
      EXPECT_NEAR(got[j], want_dots[j], std::ldexp(1.0, -24) * std::fabs(want_dots[j]) + 1e-12 * rows)
          << "column " << j << " of " << rows << "x" << cols;
    be().fill(t, -2.5f);
    EXPECT_EQ(get(t), Vec(n, -2.5)) << rows << "x" << cols;
  }
}

TEST_P(BackendConformance, RowCosinesOverTheSharedColumns) {
  for (auto [rows, a, b] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {5, 7, 3}, {9, 3, 7}, {300, 576, 1536}}) {
    Vec x = random_values(rows * a, 90), y = random_values(rows * b, 91);
    // A zero row on either side has no direction: its cosine is 0.
    if (rows > 2) {
      for (int64_t c = 0; c < a; ++c) x[1 * a + c] = 0;
      for (int64_t c = 0; c < b; ++c) y[2 * b + c] = 0;
    }
    Tensor out = be().zeros({rows}, DType::f64);
    be().row_cosines(put(x, {rows, a}), put(y, {rows, b}), out);
    be().sync();
    Tensor host = Tensor::zeros({rows}, DType::f64);
    be().copy(out, host);
    const int64_t w = std::min(a, b);
    for (int64_t i = 0; i < rows; ++i) {
      double dot = 0, xx = 0, yy = 0;
      for (int64_t c = 0; c < w; ++c) {
        dot += x[i * a + c] * y[i * b + c];
        xx += x[i * a + c] * x[i * a + c];
        yy += y[i * b + c] * y[i * b + c];
      }
      const double want = xx > 0 && yy > 0 ? dot / std::sqrt(xx * yy) : 0.0;
      EXPECT_NEAR(host.data_as<double>()[i], want, 1e-13) << "row " << i << " of " << rows << " (" << a << ", " << b << ")";
    }
  }
}

// log softmax of one row in long double: the oracle for the evaluation's log-probabilities.
std::vector<long double> log_softmax_row(const Vec& logits, int64_t row, int64_t vocab) {
  long double top = logits[static_cast<size_t>(row * vocab)], sum = 0;
  for (int64_t v = 0; v < vocab; ++v) top = std::max<long double>(top, logits[static_cast<size_t>(row * vocab + v)]);
  for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<long double>(logits[static_cast<size_t>(row * vocab + v)]) - top);
  std::vector<long double> out(static_cast<size_t>(vocab));
  for (int64_t v = 0; v < vocab; ++v) out[static_cast<size_t>(v)] = logits[static_cast<size_t>(row * vocab + v)] - top - std::log(sum);
  return out;
}

TEST_P(BackendConformance, TokenLogProbsAndRowKl) {
  for (auto [rows, vocab] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {5, 7}, {6, 49152}}) {
    const Vec p = random_values(rows * vocab, 100, 4.0), q = random_values(rows * vocab, 101, 4.0);
    std::vector<int32_t> ids(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) ids[static_cast<size_t>(r)] = static_cast<int32_t>((r * 7919) % vocab);
    if (rows > 2) ids[1] = -1, ids[2] = static_cast<int32_t>(vocab - 1);  // a skipped row; the last id
    Tensor lp = be().zeros({rows}, DType::f64), kl = be().zeros({rows}, DType::f64);
    be().token_log_probs(put(q, {rows, vocab}), ids, lp);
    be().row_kl(put(p, {rows, vocab}), put(q, {rows, vocab}), ids, kl);
    const Tensor lp_host = host_copy(be(), lp), kl_host = host_copy(be(), kl);
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t id = ids[static_cast<size_t>(r)];
      if (id < 0) {
        EXPECT_EQ(lp_host.data_as<double>()[r], 0.0);
        EXPECT_EQ(kl_host.data_as<double>()[r], 0.0);
        continue;
      }
      const auto lq = log_softmax_row(q, r, vocab), lpp = log_softmax_row(p, r, vocab);
      EXPECT_NEAR(lp_host.data_as<double>()[r], static_cast<double>(lq[static_cast<size_t>(id)]), 1e-12)
          << "row " << r << " of " << rows << "x" << vocab;
      long double want = 0;
      for (int64_t v = 0; v < vocab; ++v)
        want += std::exp(lpp[static_cast<size_t>(v)]) * (lpp[static_cast<size_t>(v)] - lq[static_cast<size_t>(v)]);
      EXPECT_NEAR(kl_host.data_as<double>()[r], static_cast<double>(want), 1e-12 * std::max(1.0L, want))
          << "row " << r << " of " << rows << "x" << vocab;
    }
  }
}

TEST_P(BackendConformance, ElementwiseProductsAndEwcQuadratics) {
  const double u = std::ldexp(1.0, -24);  // float's unit roundoff
  for (int64_t n : {0, 1, 31, 100003}) {
    const Vec x = random_values(n, 31), y = random_values(n, 32), z = random_values(n, 33);
    const Vec theta = random_values(n, 36), mu = random_values(n, 37);
    // Curvatures are non-negative; some are zero, and where both are the merge must set μ to θ.
    Vec a = random_values(n, 34), f = random_values(n, 35);
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = i % 7 == 0 ? 0.0 : std::fabs(a[i]);
      f[i] = i % 14 == 0 || i % 5 == 0 ? 0.0 : std::fabs(f[i]);
    }
    const Shape shape{n};

    Tensor t = put(x, shape);
    be().addcmul(t, put(y, shape), put(z, shape), 0.5f);
    Vec got = get(t);
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_LE(std::fabs(got[i] - (x[i] + 0.5 * y[i] * z[i])), 4 * u * (std::fabs(x[i]) + std::fabs(0.5 * y[i] * z[i])))
          << "addcmul element " << i << " of " << n;

    // anchored_quadratic: Σ a (θ − μ)² and grad += λ a (θ − μ).
    double want_sum = 0;
    for (size_t i = 0; i < a.size(); ++i) want_sum += a[i] * (theta[i] - mu[i]) * (theta[i] - mu[i]);
    const float lambda = 3.f;
    Tensor g = put(x, shape);
    const double sum = be().anchored_quadratic(put(a, shape), put(theta, shape), put(mu, shape), &g, lambda);
    EXPECT_NEAR(sum, want_sum, 1e-12 * std::max(1.0, want_sum)) << n;
    EXPECT_EQ(be().anchored_quadratic(put(a, shape), put(theta, shape), put(mu, shape), nullptr, 0.f), sum) << n;
    got = get(g);
    for (size_t i = 0; i < x.size(); ++i) {
      const double step = lambda * a[i] * (theta[i] - mu[i]);
      ASSERT_LE(std::fabs(got[i] - (x[i] + step)), 6 * u * (std::fabs(x[i]) + std::fabs(step)))
          << "anchored_quadratic gradient element " << i << " of " << n;
    }

    // merge_quadratic: a ← a + f, μ ← (a μ + f θ) / (a + f), constant Σ a f / (a + f) (μ − θ)².
    Tensor ta = put(a, shape), tm = put(mu, shape);
    const double constant = be().merge_quadratic(ta, tm, put(f, shape), put(theta, shape));
    const Vec got_a = get(ta), got_mu = get(tm);
    double want_constant = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      const double sum_af = a[i] + f[i];
      ASSERT_LE(std::fabs(got_a[i] - sum_af), u * sum_af) << "merged curvature element " << i << " of " << n;
      if (sum_af == 0) {
        ASSERT_EQ(got_mu[i], theta[i]) << "anchor without curvature, element " << i;
        continue;
      }
      const double want_mu = (a[i] * mu[i] + f[i] * theta[i]) / sum_af;
      ASSERT_LE(std::fabs(got_mu[i] - want_mu), 2 * u * (std::fabs(a[i] * mu[i]) + std::fabs(f[i] * theta[i])) / sum_af)
          << "merged anchor element " << i << " of " << n;
      want_constant += a[i] * f[i] / sum_af * (mu[i] - theta[i]) * (mu[i] - theta[i]);
    }
    EXPECT_NEAR(constant, want_constant, 1e-12 * std::max(1.0, want_constant)) << n;
  }
}

TEST_P(BackendConformance, SumOfSquaresAndScale) {
  for (int64_t n : {0, 1, 31, 100003}) {
    const Vec x = random_values(n, 5);
    Tensor t = put(x, {n});
    EXPECT_NEAR(be().sum_of_squares(t), dot(x, x), 1e-12 * std::max(1.0, dot(x, x))) << n;
    be().scale(t, 0.375f);
    Vec want(x.size());
    for (size_t i = 0; i < x.size(); ++i) want[i] = static_cast<float>(static_cast<float>(x[i]) * 0.375f);
    EXPECT_EQ(get(t), want) << n;
  }
}

TEST_P(BackendConformance, CopyRoundsToBf16NearestEven) {
  Vec x = random_values(1000, 6, 100.0);
  // Exact ties: a bf16 value plus half its ulp, with an even and an odd last kept bit.
  x.push_back(1.0 + std::ldexp(1.0, -8));            // 1 + ulp/2 → 1 (even)
  x.push_back(1.0 + 3 * std::ldexp(1.0, -8));        // (1 + ulp) + ulp/2 → 1 + 2ulp (even)
  x.push_back(-(1.0 + 3 * std::ldexp(1.0, -8)));
  const int64_t n = static_cast<int64_t>(x.size());
  Tensor src = put(x, {n}), b16 = be().zeros({n}, DType::bf16), back = be().zeros({n}, DType::f32);
  be().copy(src, b16);
  be().copy(b16, back);
  Vec want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = reference::round_to_bf16(static_cast<float>(x[i]));
  EXPECT_EQ(get(back), want);
}

// ---------------------------------------------------------------- SVD

TEST_P(BackendConformance, SvdReconstructsWithOrthonormalFactors) {
  for (auto [m, n] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {5, 3}, {3, 5}, {40, 17}}) {
    for (SvdPrecision precision : {SvdPrecision::f32, SvdPrecision::f64}) {
      const Vec a = random_values(m * n, 11);
      const Svd f = be().svd(put(a, {m, n}), precision, "a");
      const int64_t r = std::min(m, n);
      ASSERT_EQ(f.u.shape(), (Shape{m, r}));
      ASSERT_EQ(f.s.shape(), (Shape{r}));
      ASSERT_EQ(f.vt.shape(), (Shape{r, n}));
      const Vec u = get(f.u), s = get(f.s), vt = get(f.vt);
      for (int64_t i = 1; i < r; ++i) EXPECT_GE(s[i - 1], s[i]) << "descending";
      Vec us = u;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < r; ++j) us[i * r + j] *= s[j];
      EXPECT_LE(range_error(reference::matmul(us, false, vt, false, m, n, r, 1, 0, {}), a), 1e-5) << m << "x" << n;
      const Vec utu = reference::matmul(u, true, u, false, r, r, m, 1, 0, {});
      const Vec vvt = reference::matmul(vt, false, vt, true, r, r, n, 1, 0, {});
      for (int64_t i = 0; i < r; ++i)
        for (int64_t j = 0; j < r; ++j) {
          EXPECT_NEAR(utu[i * r + j], i == j ? 1.0 : 0.0, 1e-5) << m << "x" << n;
          EXPECT_NEAR(vvt[i * r + j], i == j ? 1.0 : 0.0, 1e-5) << m << "x" << n;
        }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BackendConformance, ::testing::ValuesIn(available_backends()),
                         [](const ::testing::TestParamInfo<Backend*>& param_info) { return std::string(param_info.param->name()); });

}  // namespace
}  // namespace sculpt::conformance
