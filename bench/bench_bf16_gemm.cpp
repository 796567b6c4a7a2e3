// Which bf16 matrix multiply sculpt's bf16 precision should use on this CPU (issue: one engine,
// bf16 mixed precision): OpenBLAS's cblas_sbgemm or oneDNN's matmul, both bf16 inputs with fp32
// accumulation and output, against OpenBLAS's fp32 sgemm, on the GEMMs of one SmolLM2-135M
// training step (4 × 512 tokens). cblas_sbgemm exists only in an OpenBLAS built with
// BUILD_BFLOAT16 (Debian 12's 0.3.21 declares it in cblas.h but does not export it), so it is
// looked up at run time and reported absent where it is.
//   build/bench/bench_bf16_gemm [--tokens T] [--rounds R]   (OMP_NUM_THREADS pins the threads)
// Each shape runs in the three forms of a linear layer's step, y = x Wᵀ (forward), dx = dy W
// (input gradient) and dW = dyᵀ x (weight gradient), every kernel interleaved round by round; a
// shape's time is the median of its rounds. Output: one JSON object (per shape and form the
// milliseconds of each kernel, and the totals of one step: 30 layers and the head), then a table.
#include <cblas.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "sculpt/core/dtype.h"
#include "sculpt/core/rng.h"

namespace {

// One GEMM C (m×n) = op(A) op(B), row-major, with op chosen by the form.
struct Gemm {
  std::string name;  // "q.fwd", ...
  int64_t m, n, k;
  bool trans_a, trans_b;
  int64_t count;  // how many times one training step runs it
};

// SmolLM2-135M: hidden 576, 9 heads of 64, 3 KV heads (192), SwiGLU 1536, vocabulary 49152, 30
// layers, tied head (the head GEMMs run once).
std::vector<Gemm> step_gemms(int64_t t) {
  struct Linear {
    const char* name;
    int64_t out, in, count;
  };
  const Linear linears[] = {{"q", 576, 576, 30}, {"kv", 192, 576, 60}, {"o", 576, 576, 30},
                            {"gate_up", 1536, 576, 60}, {"down", 576, 1536, 30}, {"head", 49152, 576, 1}};
  std::vector<Gemm> out;
  for (const auto& l : linears) {
    out.push_back({std::string(l.name) + ".fwd", t, l.out, l.in, false, true, l.count});    // x (t×in) Wᵀ
    out.push_back({std::string(l.name) + ".dx", t, l.in, l.out, false, false, l.count});    // dy (t×out) W
    out.push_back({std::string(l.name) + ".dw", l.out, l.in, t, true, false, l.count});     // dyᵀ x
  }
  return out;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Operands {
  std::vector<float> a, b, c;
  std::vector<uint16_t> a16, b16;  // bf16 bits (round to nearest even)
  Operands(const Gemm& g) : a(g.m * g.k), b(g.k * g.n), c(g.m * g.n), a16(a.size()), b16(b.size()) {
    sculpt::Rng rng(7);
    for (size_t i = 0; i < a.size(); ++i) a16[i] = sculpt::f32_to_bf16(a[i] = rng.normal());
    for (size_t i = 0; i < b.size(); ++i) b16[i] = sculpt::f32_to_bf16(b[i] = rng.normal());
  }
};

// Stored shapes: A is (m×k), or (k×m) when trans_a; B is (k×n), or (n×k) when trans_b.
void run_sgemm(const Gemm& g, Operands& o) {
  cblas_sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, g.m, g.n,
              g.k, 1.f, o.a.data(), g.trans_a ? g.m : g.k, o.b.data(), g.trans_b ? g.k : g.n, 0.f, o.c.data(), g.n);
}

using Sbgemm = void (*)(CBLAS_ORDER, CBLAS_TRANSPOSE, CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                        const uint16_t*, blasint, const uint16_t*, blasint, float, float*, blasint);
const Sbgemm sbgemm = reinterpret_cast<Sbgemm>(dlsym(RTLD_DEFAULT, "cblas_sbgemm"));

void run_sbgemm(const Gemm& g, Operands& o) {
  sbgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans, g.trans_b ? CblasTrans : CblasNoTrans, g.m, g.n, g.k,
         1.f, o.a16.data(), g.trans_a ? g.m : g.k, o.b16.data(), g.trans_b ? g.k : g.n, 0.f, o.c.data(), g.n);
}

// oneDNN: a matmul primitive per shape, created once (its creation is not timed); transposes are
// strides of the memory descriptors.
struct Onednn {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul prim;
  dnnl::memory a, b, c;
  Onednn(const Gemm& g, Operands& o) {
    using dt = dnnl::memory::data_type;
    using dims = dnnl::memory::dims;
    const dims a_strides = g.trans_a ? dims{1, g.m} : dims{g.k, 1};
    const dims b_strides = g.trans_b ? dims{1, g.k} : dims{g.n, 1};
    dnnl::memory::desc ad({g.m, g.k}, dt::bf16, a_strides), bd({g.k, g.n}, dt::bf16, b_strides),
        cd({g.m, g.n}, dt::f32, dims{g.n, 1});
    prim = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(ad, bd, cd), engine));
    a = dnnl::memory(ad, engine, o.a16.data());
    b = dnnl::memory(bd, engine, o.b16.data());
    c = dnnl::memory(cd, engine, o.c.data());
  }
  void run() {
    prim.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

// max |C_bf16 − C_f32| / max |C_f32|: both bf16 kernels must compute the same product.
double relative_error(const std::vector<float>& ref, const std::vector<float>& got) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, static_cast<double>(std::fabs(ref[i] - got[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(ref[i])));
  }
  return err / scale;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t tokens = 2048, rounds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokens")) tokens = std::atoll(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoll(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: bench_bf16_gemm [--tokens T] [--rounds R]\n");
      return 2;
    }
  }
  const char* kernels[] = {"sgemm", "sbgemm", "onednn"};
  double step_ms[3] = {0, 0, 0}, flops_step = 0;
  std::string json = "{\"tokens\": " + std::to_string(tokens) + ", \"threads\": \"" +
                     (std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "default") +
                     "\", \"shapes\": [";
  std::printf("%-14s %22s %10s %10s %10s %8s %8s %9s %9s\n", "gemm", "m x n x k", "sgemm ms", "sbgemm ms",
              "onednn ms", "sb/s", "dnnl/s", "err sb", "err dnnl");
  bool first = true;
  for (const Gemm& g : step_gemms(tokens)) {
    Operands o(g);
    Onednn dnnl_mm(g, o);
    std::vector<std::function<void()>> run = {[&] { run_sgemm(g, o); },
                                              [&] {
                                                if (sbgemm) run_sbgemm(g, o);
                                              },
                                              [&] { dnnl_mm.run(); }};
    // The outputs of each kernel, for the agreement check (after one warm-up call each).
    std::vector<std::vector<float>> outputs;
    for (auto& f : run) {
      f();
      outputs.push_back(o.c);
    }
    std::vector<double> ms[3];
    for (int64_t r = 0; r < rounds; ++r)
      for (int kk = 0; kk < 3; ++kk) {
        const double t0 = now_ms();
        run[kk]();
        ms[kk].push_back(now_ms() - t0);
      }
    double med[3];
    for (int kk = 0; kk < 3; ++kk) {
      med[kk] = median(ms[kk]);
      step_ms[kk] += med[kk] * static_cast<double>(g.count);
    }
    flops_step += 2.0 * static_cast<double>(g.m * g.n * g.k * g.count);
    const double err_sb = sbgemm ? relative_error(outputs[0], outputs[1]) : -1, err_dnnl = relative_error(outputs[0], outputs[2]);
    char dims[64];
    std::snprintf(dims, sizeof dims, "%lld x %lld x %lld", static_cast<long long>(g.m), static_cast<long long>(g.n),
                  static_cast<long long>(g.k));
    if (sbgemm)
      std::printf("%-14s %22s %10.2f %10.2f %10.2f %8.3f %8.3f %9.1e %9.1e\n", g.name.c_str(), dims, med[0], med[1],
                  med[2], med[1] / med[0], med[2] / med[0], err_sb, err_dnnl);
    else
      std::printf("%-14s %22s %10.2f %10s %10.2f %8s %8.3f %9s %9.1e\n", g.name.c_str(), dims, med[0], "-", med[2],
                  "-", med[2] / med[0], "-", err_dnnl);
    char row[512], sb_ms[32] = "null", sb_err[32] = "null";
    if (sbgemm) {
      std::snprintf(sb_ms, sizeof sb_ms, "%.4f", med[1]);
      std::snprintf(sb_err, sizeof sb_err, "%.3e", err_sb);
    }
    std::snprintf(row, sizeof row,
                  "%s{\"gemm\": \"%s\", \"m\": %lld, \"n\": %lld, \"k\": %lld, \"count\": %lld, \"sgemm_ms\": %.4f, "
                  "\"sbgemm_ms\": %s, \"onednn_ms\": %.4f, \"err_sbgemm\": %s, \"err_onednn\": %.3e}",
                  first ? "" : ", ", g.name.c_str(), static_cast<long long>(g.m), static_cast<long long>(g.n),
                  static_cast<long long>(g.k), static_cast<long long>(g.count), med[0], sb_ms, med[2], sb_err,
                  err_dnnl);
    json += row;
    first = false;
  }
  std::printf("\none training step's GEMMs (%.1f GFLOP):\n", flops_step / 1e9);
  if (!sbgemm) std::printf("  sbgemm  absent: this OpenBLAS exports no cblas_sbgemm (built without BUILD_BFLOAT16)\n");
  for (int kk = 0; kk < 3; ++kk)
    if (kk != 1 || sbgemm)
    std::printf("  %-7s %9.1f ms  %7.1f GFLOP/s  %.3f x sgemm\n", kernels[kk], step_ms[kk],
                flops_step / step_ms[kk] / 1e6, step_ms[kk] / step_ms[0]);
  char tail[256], sb_step[32] = "null";
  if (sbgemm) std::snprintf(sb_step, sizeof sb_step, "%.2f", step_ms[1]);
  std::snprintf(tail, sizeof tail,
                "], \"step_gflop\": %.3f, \"step_ms\": {\"sgemm\": %.2f, \"sbgemm\": %s, \"onednn\": %.2f}}",
                flops_step / 1e9, step_ms[0], sb_step, step_ms[2]);
  std::printf("%s%s\n", json.c_str(), tail);
  return 0;
}
