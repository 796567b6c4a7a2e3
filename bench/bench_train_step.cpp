// Times optimizer steps of plain fine-tuning on the reference config (hidden 256, 4 layers,
// 4 heads, SwiGLU 688, vocab 4096; batch 8 × 128, loss on every token) and prints one JSON line:
//   {"median_ms": ..., "min_ms": ..., "max_ms": ..., "steps": N, "threads": T}
// Used by bench/train_step_vs_torch.sh, which runs the PyTorch twin beside it.
//   bench_train_step STEPS [osft-update|osft-gradient|osft-factored U]   (OSFT with unfreeze ratio U)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <memory>
#include <string>

#include "sculpt/cl/osft/osft.h"
#include "sculpt/core/rng.h"
#include "sculpt/core/threads.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/train/step.h"

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : 10;
  sculpt::ModelConfig c;
  c.hidden_size = 256, c.intermediate_size = 688, c.num_layers = 4, c.num_heads = 4, c.num_kv_heads = 4;
  c.head_dim = 64, c.vocab_size = 4096, c.max_position_embeddings = 1024;
  sculpt::LlamaModel model(c);
  sculpt::Rng rng(0);
  sculpt::init_random(model, rng);
  const int64_t B = 8, T = 128;
  sculpt::TokenBatch batch;
  batch.batch = B, batch.seq = T;
  for (int64_t i = 0; i < B * T; ++i) {
    batch.tokens.push_back(static_cast<int32_t>(rng.below(4096)));
    batch.targets.push_back(static_cast<int32_t>(rng.below(4096)));
    batch.loss_mask.push_back(1.f);
  }
  sculpt::TrainingGraph graph(model, B, T);
  sculpt::Gradients grads(model);
  sculpt::AdamW adam(model.parameters(), {});
  std::unique_ptr<sculpt::OsftStrategy> osft;
  double svd_ms = 0;
  if (argc > 2) {
    sculpt::OsftOptions o;
    const std::string mode = argv[2];
    o.mode = mode == "osft-gradient" ? "gradient" : mode == "osft-factored" ? "factored" : "update";
    o.rank.unfreeze_rank_ratio = argc > 3 ? std::atof(argv[3]) : 0.25;
    osft = std::make_unique<sculpt::OsftStrategy>(o);
    auto t0 = std::chrono::steady_clock::now();
    osft->begin_task(model, adam);  // the SVD of every target, in parallel over the matrices
    svd_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  std::vector<double> ms;
  for (int s = 0; s < steps + 2; ++s) {  // two warm-up steps
    auto t0 = std::chrono::steady_clock::now();
    sculpt::optimizer_step(model, graph, grads, adam, {batch}, 1e-4f, 1.f, osft.get(), /*measure=*/false);
    const double dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (s >= 2) ms.push_back(dt);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("{\"median_ms\": %.2f, \"min_ms\": %.2f, \"max_ms\": %.2f, \"steps\": %d, \"threads\": %d, \"svd_ms\": %.2f}\n",
              ms[ms.size() / 2], ms.front(), ms.back(), steps, sculpt::num_threads(), svd_ms);
  return 0;
}
