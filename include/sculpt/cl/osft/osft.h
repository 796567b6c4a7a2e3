// Orthogonal Subspace Fine-Tuning (DESIGN.md §1). At the start of a task every target matrix
// W (N×M, r = min(N, M)) is decomposed, W = U Σ Vᵀ; its top-k directions U_h (N×k), V_h (k×M)
// are protected and every update is confined to their orthogonal complement:
//   ΔW = (I − U_hU_hᵀ) D (I − V_hᵀV_h)            (--projection two-sided, the default)
//   ΔW = D − U_hU_hᵀ D V_hᵀV_h                     (--projection block, the paper's formula)
// Modes:
//   update   (default, exact): AdamW's whole step s, weight decay included, is computed (the
//            targets' AdamW rule defers it into their gradients), projected and applied:
//            W ← W − P(s). The rounding of that subtraction is not orthogonal and would build up
//            in the protected block (at lr 1e-5 it passes the step itself within a few hundred
//            steps), so every kRepairInterval-th step, every measured step and the last one the
//            weights are restored to W₀ + P(W − W₀) exactly. No copy of W₀ is kept: as
//            U_hᵀW₀ = Σ_hV_h and W₀V_hᵀ = U_hΣ_h, that is P(W) + U_hΣ_hV_h, restored from the
//            factors (restore_two_sided / restore_block, 4·k·N·M multiply-adds; the SVD runs in
//            double so that the identities hold to fp32 rounding), while projecting s costs
//            4·min(k, l)·N·M on a complete side. The logged leak is the protected block's drift
//            after the restore, ‖U_hᵀW − Σ_hV_h‖ (leak_u) and ‖WV_hᵀ − U_hΣ_h‖ (leak_v), relative
//            to ‖Σ_h‖.
//   gradient: the gradient is projected before AdamW (PEFT's way); AdamW's element-wise scaling
//            then leaks into the protected subspace, and the leak is measured against a copy of
//            W₀: ‖U_hᵀ(W − W₀)‖ and ‖(W − W₀)V_hᵀ‖ relative to ‖W − W₀‖.
//   factored: the reference parameterisation W = U_hΣ_hV_h + U_lΣ_lV_l with U_l, Σ_l, V_l
//            trained by AdamW: their gradients come from dW (dU_l = dW V_lᵀΣ_l,
//            dΣ_l = diag(U_lᵀ dW V_lᵀ), dV_l = Σ_l U_lᵀ dW), count in the clipping norm, are
//            projected one-sidedly (dU_l ⟂ U_h, dV_l ⟂ V_h) after clipping as mini_trainer does,
//            and U_l, V_l are re-projected after each step.
// k = 0 leaves a matrix as in plain fine-tuning (bit for bit); k = r freezes it.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sculpt/backend/backend.h"
#include "sculpt/cl/osft/rank_policy.h"
#include "sculpt/cl/strategy.h"
#include "sculpt/data/example.h"

namespace sculpt {

// Where the projection is applied (DESIGN §1): AdamW's step (exact), the gradient (PEFT), or
// the trained factors U_l, Σ_l, V_l (the reference trainers).
enum class OsftMode { update, gradient, factored };
// The confined subspace: both sides' complement (default), or the paper's printed formula that
// removes only the protected block.
enum class Projection { two_sided, block };
std::string osft_mode_name(OsftMode mode);                // "update", ...
OsftMode osft_mode_from_name(const std::string& name);    // Error naming --osft-mode otherwise
std::string projection_name(Projection projection);       // "two-sided", "block"
Projection projection_from_name(const std::string& name);  // Error naming --projection otherwise

struct OsftOptions {
  RankPolicyOptions rank;
  std::vector<std::string> target_patterns;  // empty: defaults for the model type
  OsftMode mode = OsftMode::update;
  Projection projection = Projection::two_sided;
  bool freeze_non_targets = false;
  const std::vector<Example>* calibration = nullptr;  // adaptive policy: samples of the previous task
  int64_t calibration_samples = 64;                   // in a task sequence: how many of them
};

struct OsftMatrixPlan {
  std::string name;
  int64_t rows = 0, cols = 0, rank = 0, frozen = 0;  // frozen = k
  double sigma_k = 0;      // smallest protected singular value (0 when k = 0)
  double energy_kept = 0;  // Σ_{i<k} σ² / Σ σ²
  double importance = -1;  // adaptive policy only (normalised, mean 1)
  std::vector<float> singular_values;
};

// Decomposes the targets of `model` and resolves the ranks, without training.
std::vector<OsftMatrixPlan> make_osft_plan(const LlamaModel& model, const OsftOptions& options);
nlohmann::json osft_plan_json(const std::vector<OsftMatrixPlan>& plan, const OsftOptions& options);
// Floats OSFT keeps besides plain fine-tuning: U_h, Σ_h, V_h per target; the complement of each
// complete side where that is the cheaper projection (update and gradient modes, two-sided); in
// gradient mode also the task-start copy W₀.
int64_t osft_extra_floats(const std::vector<OsftMatrixPlan>& plan, const OsftOptions& options);

class OsftStrategy : public Strategy {
 public:
  // Update mode restores the protected block exactly at least this often (in steps).
  static constexpr int64_t kRepairInterval = 8;
  explicit OsftStrategy(OsftOptions options);
  std::string name() const override { return "osft"; }
  MemoryLine planned_memory(const ModelConfig& config, int64_t seq, int threads) const override;
  BeginTaskPass planned_begin_task_pass(const ModelConfig& config) const override;
  void begin_task(LlamaModel& model, AdamW& optimizer) override;
  void end_task(LlamaModel& model, const std::vector<Example>& trained_on) override;
  void on_gradients(LlamaModel& model, Gradients& grads) override;
  void after_step(LlamaModel& model, Gradients& grads, float lr, float clip_scale, bool measure) override;
  double extra_grad_norm_sq() const override;
  std::vector<std::pair<std::string, double>> step_metrics() const override;
  void save_state(const std::string& dir) const override;
  void load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) override;
  // In a task sequence: task `index` (1-based) of `count` (the schedule policy) and the samples
  // the adaptive policy measures importance on (the previous task's). Call before begin_task.
  void set_task(int64_t index, int64_t count, const std::vector<Example>* calibration);
  // set_task with the first calibration_samples of `previous`, held by the strategy.
  void before_task(int64_t index, int64_t count, const std::vector<Example>& previous) override;
  void write_task_files(const std::string& dir) const override;

  const std::vector<OsftMatrixPlan>& plan() const { return plan_; }
  const OsftOptions& options() const { return options_; }

 private:
  // after_step's two parts: factored mode's step of the factors; update mode's repair of W and
  // the leak.
  void step_factors(LlamaModel& model, float lr, float clip_scale);
  // Frees the subspaces, projection work and factored mode's optimizer of the current task.
  void release_task_state();
  // Update mode: applies the projected step (and restores the protected block when due); every
  // mode: the leak on measured steps.
  void apply_and_measure(LlamaModel& model, Gradients& grads, bool measure);
  std::vector<Example> calibration_;  // before_task's copy
  struct Target {
    size_t index = 0;  // into model.parameters()
    int64_t n = 0, m = 0, k = 0;
    Tensor u_h;      // (N, k)
    Tensor s_h;      // (k,) the protected singular values
    Tensor v_h;      // (k, M)
    Tensor u_c, v_c; // (N, l), (l, M) complement of a complete side, where cheaper (else empty)
    Tensor w0;       // gradient mode only: (N, M) weights at the task start
    // factored mode only (l = r − k):
    Tensor high;     // (N, M) U_hΣ_hV_h, constant during the task
    Tensor u_l, s_l, v_l;     // (N, l), (l,), (l, M) trained
    Tensor du, ds, dv;        // their gradients
  };
  // What a decomposition (or a checkpoint of one) gives for one target: its plan entry and, where
  // 0 < k < r, the tensors of Target above (factored mode: U_l, Σ_l, V_l at their start values).
  struct TargetState {
    OsftMatrixPlan plan;
    Tensor u_h, v_h, u_c, v_c, w0, u_l, s_l, v_l;
  };
  // Decomposes the targets `indices` from their task-start values, then installs them.
  void decompose(LlamaModel& model, AdamW& optimizer, const std::vector<size_t>& indices,
                 const std::vector<Tensor>& start_weights);
  // Makes `states` the task's targets, sets the optimizer's freeze rules and the work buffers.
  void install(LlamaModel& model, AdamW& optimizer, const std::vector<size_t>& indices,
               std::vector<TargetState> states);
  // d (N, M) ← its projection onto t's complement; work: this thread's scratch.
  void project(Tensor& d, const Target& t, Tensor& work) const;

  OsftOptions options_;
  RankPolicy policy_;
  std::vector<Target> targets_;
  std::vector<OsftMatrixPlan> plan_;
  Backend& backend_ = cpu_backend();  // where the targets live and the projections run
  std::vector<Tensor> scratch_;       // per thread: (per_thread_work,) D (N×M) and GEMM work
  double leak_u_ = 0, leak_v_ = 0;
  int64_t steps_ = 0;  // steps taken in this task (update mode's restore schedule; checkpointed)
  std::unique_ptr<AdamW> factor_adam_;  // factored mode: AdamW over (U_l, Σ_l, V_l) of every target
  std::vector<Parameter> factor_params_;
};

}  // namespace sculpt
