// Elastic Weight Consolidation (Kirkpatrick et al. 2017), diagonal Fisher, one anchor per task.
// After task i its empirical Fisher F_i = mean over samples n of (∇θ Σ_t −log p(y_t|x_<t))² is
// computed at the task's final weights θ_i*, and later tasks add the penalty
//   Ω(θ) = λ/2 Σ_i Σ_p F_i,p (θ_p − θ*_i,p)²
// to the loss. A sum of quadratics is one quadratic, so memory stays 2× the parameters for any
// number of tasks (per element, with A = Σ_i F_i and μ = Σ_i F_i θ*_i / A):
//   Ω(θ) = λ/2 [Σ_p A (θ − μ)² + K],   ∇Ω = λ A (θ − μ),
// kept in this centred form (not A θ² − 2Bθ + C) so nothing cancels near the anchors. Adding a
// task (F, θ*) to (A, μ): A' = A + F, μ' = (A μ + F θ*) / A', K' = K + Σ_p A F/A' (μ − θ*)².
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/cl/strategy.h"

namespace sculpt {

struct EwcOptions {
  double lambda = 1000;          // penalty strength λ
  int64_t fisher_samples = 64;   // training examples per task for the Fisher (seeded subset)
  uint64_t seed = 0;
};

class EwcStrategy : public Strategy {
 public:
  explicit EwcStrategy(EwcOptions options) : options_(options) {}
  std::string name() const override { return "ewc"; }
  MemoryLine planned_memory(const ModelConfig& config, int64_t seq, int threads) const override;
  void on_gradients(LlamaModel& model, Gradients& grads) override;
  void end_task(LlamaModel& model, const std::vector<Example>& trained_on) override;
  std::vector<std::pair<std::string, double>> step_metrics() const override;
  void save_state(const std::string& dir) const override { save_between_tasks(dir); }
  void load_state(const std::string& dir, LlamaModel&, AdamW&) override { load_between_tasks(dir); }
  void save_between_tasks(const std::string& dir) const override;
  void load_between_tasks(const std::string& dir) override;

  // The penalty Ω(θ) (without the loss).
  double penalty(const LlamaModel& model) const;
  int64_t tasks_consolidated() const { return tasks_; }
  // The diagonal empirical Fisher of `model` on `examples` (one tensor per parameter).
  static std::vector<Tensor> fisher(LlamaModel& model, const std::vector<Example>& examples,
                                    Backend& backend = cpu_backend());

 private:
  EwcOptions options_;
  Backend& backend_ = cpu_backend();  // where A, μ and the parameters live
  int64_t tasks_ = 0;
  std::vector<Tensor> a_, mu_;  // per parameter, the parameter's shape: Σ F_i and the weighted anchor
  double constant_ = 0;          // K
  double last_penalty_ = 0;
};

}  // namespace sculpt
