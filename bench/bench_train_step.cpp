// Times optimizer steps (forward, backward, clipping, AdamW) of a random Llama and prints one
// JSON line. Defaults are the performance issue's reference config: hidden 256, 4 layers,
// 4 heads, SwiGLU 688, vocab 4096, batch 8 × 128, loss on every token.
//   bench_train_step [--steps N] [--method plain|osft-update|osft-gradient|osft-factored] [--u U]
//                    [--hidden D] [--layers L] [--heads H] [--ffn F] [--vocab V] [--batch B] [--seq T]
//                    [--precision fp32|bf16] [--roofline] [--warmup N (default 2; 0 for a one-step profile under valgrind)]
//                    [--model PATH (a real model: HF directory, GGUF or llama2.c file, whose shapes then
//                     replace --hidden ... --vocab; its weights are trained in fp32)]
// Output: {"median_ms", "min_ms", "max_ms", "steps", "threads", "svd_ms", "peak_rss_kib", and with
// --roofline "gemm_gflop" (matmul work of one step), "roofline_ms" (the same GEMMs, shape by
// shape, timed alone: the fastest of sculpt::gemm's cuts and OpenBLAS's own threading) and "roofline_fraction" (roofline_ms / median_ms)}.
// bench/run runs it beside the PyTorch twin (bench/torch_train_step.py).
#include <sys/resource.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "sculpt/cl/osft/osft.h"
#include "sculpt/core/rng.h"
#include "sculpt/core/threads.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/train/step.h"

namespace {

struct Args {
  int steps = 10, warmup = 2;
  std::string method = "plain";
  double u = 0.25;
  int64_t hidden = 256, layers = 4, heads = 4, ffn = 688, vocab = 4096, batch = 8, seq = 128;
  bool roofline = false;
  std::string model;  // empty: a random model of the shapes above
  sculpt::Precision precision = sculpt::Precision::fp32;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--roofline") {
      a.roofline = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "bench_train_step: %s needs a value\n", flag.c_str());
      std::exit(2);
    }
    const char* v = argv[++i];
    if (flag == "--steps") a.steps = std::atoi(v);
    else if (flag == "--warmup") a.warmup = std::atoi(v);
    else if (flag == "--method") a.method = v;
    else if (flag == "--u") a.u = std::atof(v);
    else if (flag == "--hidden") a.hidden = std::atoll(v);
    else if (flag == "--layers") a.layers = std::atoll(v);
    else if (flag == "--heads") a.heads = std::atoll(v);
    else if (flag == "--ffn") a.ffn = std::atoll(v);
    else if (flag == "--vocab") a.vocab = std::atoll(v);
    else if (flag == "--batch") a.batch = std::atoll(v);
    else if (flag == "--seq") a.seq = std::atoll(v);
    else if (flag == "--model") a.model = v;
    else if (flag == "--precision") a.precision = sculpt::parse_precision(v);
    else {
      std::fprintf(stderr, "bench_train_step: unknown option %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return a;
}

// --- the sgemm roofline: every GEMM one step issues, re-timed alone -------------------------
using Shape = std::tuple<sculpt::Trans, sculpt::Trans, int64_t, int64_t, int64_t, bool>;
std::mutex calls_mutex;
std::map<Shape, int64_t> calls;  // shape → how many times one step issues it

void record(const sculpt::GemmCall& c) {
  std::lock_guard<std::mutex> lock(calls_mutex);
  ++calls[{c.trans_a, c.trans_b, c.m, c.n, c.k, c.nested}];
}

// Milliseconds per call of one GEMM shape on packed operands: the best of several timed batches.
// A nested shape (issued inside a parallel region, one per thread) is timed the same way, every
// thread running its own copy at once, so its per-call cost is the wall time over the threads.
double time_gemm(const Shape& s) {
  const auto [ta, tb, m, n, k, nested] = s;
  const int copies = nested ? sculpt::num_threads() : 1;
  std::vector<std::vector<float>> a(copies), b(copies), c(copies);
  for (int i = 0; i < copies; ++i) {
    a[i].assign(static_cast<size_t>(m * k), 0.01f), b[i].assign(static_cast<size_t>(k * n), 0.02f);
    c[i].assign(static_cast<size_t>(m * n), 0.f);
  }
  const int64_t lda = ta == sculpt::Trans::no ? k : m, ldb = tb == sculpt::Trans::no ? n : k;
  auto run = [&](int i) {
    sculpt::gemm(ta, tb, m, n, k, 1.f, a[i].data(), lda, b[i].data(), ldb, 0.f, c[i].data(), n);
  };
  double best = 1e30;
  for (int rep = 0; rep < 7; ++rep) {
    const int inner = std::max<int64_t>(1, 4'000'000 / std::max<int64_t>(1, m * n * k / 64));
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < inner; ++r) {
      if (nested) {
#pragma omp parallel num_threads(copies)
        run(omp_get_thread_num());
      } else {
        run(0);
      }
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, ms / inner / copies);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  sculpt::Rng rng(0);
  sculpt::LlamaModel model = [&] {
    if (!a.model.empty()) return sculpt::load_model(a.model);
    sculpt::ModelConfig c;
    c.hidden_size = a.hidden, c.intermediate_size = a.ffn, c.num_layers = a.layers, c.num_heads = a.heads;
    c.num_kv_heads = a.heads, c.head_dim = a.hidden / a.heads, c.vocab_size = a.vocab;
    c.max_position_embeddings = std::max<int64_t>(1024, a.seq);
    sculpt::LlamaModel random_model(c);
    sculpt::init_random(random_model, rng);
    return random_model;
  }();
  const int64_t vocab = model.config().vocab_size;
  sculpt::TokenBatch batch;
  batch.batch = a.batch, batch.seq = a.seq;
  for (int64_t i = 0; i < a.batch * a.seq; ++i) {
    batch.tokens.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab))));
    batch.targets.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab))));
    batch.loss_mask.push_back(1.f);
  }
  sculpt::TrainingGraph graph(model, a.batch, a.seq, a.precision);
  sculpt::Gradients grads(model);
  sculpt::AdamW adam(model.parameters(), {});
  std::unique_ptr<sculpt::OsftStrategy> osft;
  double svd_ms = 0;
  if (a.method != "plain") {
    sculpt::OsftOptions o;
    o.mode = a.method == "osft-gradient" ? sculpt::OsftMode::gradient
             : a.method == "osft-factored" ? sculpt::OsftMode::factored
                                           : sculpt::OsftMode::update;
    if (a.method != "osft-update" && a.method != "osft-gradient" && a.method != "osft-factored") {
      std::fprintf(stderr, "bench_train_step: unknown method %s\n", a.method.c_str());
      return 2;
    }
    o.rank.unfreeze_rank_ratio = a.u;
    osft = std::make_unique<sculpt::OsftStrategy>(o);
    auto t0 = std::chrono::steady_clock::now();
    osft->begin_task(model, adam);  // the SVD of every target, in parallel over the matrices
    svd_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  const std::vector<sculpt::TokenBatch> micro_batches{batch};  // made once: the step itself allocates nothing
  auto step = [&] {
    sculpt::optimizer_step(model, graph, grads, adam, micro_batches, 1e-4f, 1.f, osft.get(), /*measure=*/false);
  };
  std::vector<double> ms;
  for (int s = 0; s < a.steps + a.warmup; ++s) {  // warm-up steps first: buffers, OpenBLAS threads
    auto t0 = std::chrono::steady_clock::now();
    step();
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (s >= a.warmup) ms.push_back(dt);
  }
  std::sort(ms.begin(), ms.end());
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);  // before the roofline's own buffers
  std::printf("{\"median_ms\": %.2f, \"min_ms\": %.2f, \"max_ms\": %.2f, \"steps\": %d, \"threads\": %d, "
              "\"svd_ms\": %.2f, \"peak_rss_kib\": %ld, \"precision\": \"%s\"",
              ms[ms.size() / 2], ms.front(), ms.back(), a.steps, sculpt::num_threads(), svd_ms, usage.ru_maxrss,
              sculpt::precision_name(a.precision));
  if (a.roofline) {
    sculpt::set_gemm_observer(record);
    step();
    sculpt::set_gemm_observer(nullptr);
    double flop = 0, roofline_ms = 0;
    for (const auto& [shape, count] : calls) {
      const auto [ta, tb, m, n, k, nested] = shape;
      flop += 2.0 * static_cast<double>(m * n * k) * static_cast<double>(count);
      // The fastest of sculpt::gemm's cuts and OpenBLAS's own threading: the roofline is the
      // best any of them achieves on the shape, not only the path the step takes.
      double best_ms = 1e30;
      for (auto split : {sculpt::GemmSplit::openblas, sculpt::GemmSplit::rows, sculpt::GemmSplit::by_shape}) {
        sculpt::set_gemm_split(split);
        best_ms = std::min(best_ms, time_gemm(shape));
      }
      roofline_ms += best_ms * static_cast<double>(count);
    }
    std::printf(", \"gemm_gflop\": %.3f, \"gemm_shapes\": %zu, \"roofline_ms\": %.2f, \"roofline_fraction\": %.3f",
                flop / 1e9, calls.size(), roofline_ms, roofline_ms / ms[ms.size() / 2]);
  }
  std::printf("}\n");
  return 0;
}
