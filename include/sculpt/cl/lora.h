// LoRA baselines for continual learning. Each target W (N×M) is adapted as
//   W_eff = W_base + s·B·A,   A (r×M), B (N×r), s = alpha / r,
// with A drawn from U(−1/√M, 1/√M) (PEFT's kaiming-uniform bound) and B = 0, so training starts
// at the base model. The model always holds W_eff (merged), so forward and backward are plain
// fine-tuning's and the export is the merged model; the adapters' gradients come from the
// full-weight gradient G = ∂L/∂W_eff, which is exact because W_eff is linear in B·A:
//   ∂L/∂A = s Bᵀ G,   ∂L/∂B = s G Aᵀ.
// Every base parameter is frozen; the adapters train with their own AdamW.
// Variants:
//   seqlora  one adapter trained through all tasks;
//   inclora  a new adapter per task, earlier ones merged into W_base and frozen;
//   olora    inclora plus O-LoRA's loss λ1 Σ_{i<t} Σ|A_i A_tᵀ| + λ2 ‖θ_t‖² (θ_t: the new A_t, B_t),
//            whose gradient is λ1 Σ_i sign(A_t A_iᵀ) A_i + 2λ2 A_t for A_t and 2λ2 B_t for B_t.
// Dropout on the adapter input is not supported (it needs the unmerged forward): 0 only.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/cl/strategy.h"

namespace sculpt {

enum class LoraVariant { seqlora, inclora, olora };
const char* lora_variant_name(LoraVariant variant);  // the method's name: "seqlora", ...

struct LoraOptions {
  LoraVariant variant = LoraVariant::seqlora;
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  std::vector<std::string> target_patterns;  // empty: q_proj and v_proj (PEFT's Llama default)
  double lambda1 = 0.5, lambda2 = 0.0;       // olora
  uint64_t seed = 0;
};

class LoraStrategy : public Strategy {
 public:
  explicit LoraStrategy(LoraOptions options);
  std::string name() const override { return lora_variant_name(options_.variant); }
  MemoryLine planned_memory(const ModelConfig& config, int64_t seq, int threads) const override;
  void begin_task(LlamaModel& model, AdamW& optimizer) override;
  void on_gradients(LlamaModel& model, Gradients& grads) override;
  double extra_grad_norm_sq() const override;
  void after_step(LlamaModel& model, Gradients& grads, float lr, float clip_scale, bool measure) override;
  std::vector<std::pair<std::string, double>> step_metrics() const override;
  void save_state(const std::string& dir) const override;
  void load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) override;
  void save_between_tasks(const std::string& dir) const override { save_state(dir); }
  void load_between_tasks(const std::string& dir) override;

  // O-LoRA's orthogonality term Σ_i Σ|A_i A_tᵀ| over every target (without λ1).
  double orthogonality() const;

  struct Adapter {
    size_t index = 0;                  // parameter index of W
    int64_t n = 0, m = 0;              // W is N×M
    Tensor w_base;                     // (N, M)
    Tensor a, b;                       // (r, M), (N, r)
    Tensor da, db;                     // gradients, same shapes
    std::vector<Tensor> previous_a;    // olora: A of earlier tasks, each (r, M)
  };
  std::vector<Adapter>& adapters() { return adapters_; }
  float scale() const { return static_cast<float>(options_.alpha / static_cast<double>(options_.rank)); }
  // W = W_base + s·B·A for every adapter.
  void merge_into(LlamaModel& model) const;

 private:
  void make_optimizer(const AdamW& like);
  LoraOptions options_;
  Backend& backend_ = cpu_backend();  // where the adapters and the weights live
  std::vector<Adapter> adapters_;
  std::unique_ptr<AdamW> adam_;
  int64_t tasks_started_ = 0;
  double last_orthogonality_ = 0;
};

}  // namespace sculpt
