#include "sculpt/cl/osft/osft.h"

#include <omp.h>

#include <cmath>
#include <filesystem>

#include "sculpt/cl/osft/importance.h"
#include "sculpt/cl/osft/subspace.h"
#include "sculpt/cl/osft/targets.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/linalg/svd.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string osft_mode_name(OsftMode mode) {
  switch (mode) {
    case OsftMode::update: return "update";
    case OsftMode::gradient: return "gradient";
    case OsftMode::factored: return "factored";
  }
  throw Error("OSFT mode " + std::to_string(static_cast<int>(mode)) + " does not exist", "osft");
}

OsftMode osft_mode_from_name(const std::string& name) {
  for (OsftMode m : {OsftMode::update, OsftMode::gradient, OsftMode::factored})
    if (osft_mode_name(m) == name) return m;
  throw Error("unknown OSFT mode '" + name + "'", "--osft-mode", "choose update, gradient or factored");
}

std::string projection_name(Projection projection) {
  switch (projection) {
    case Projection::two_sided: return "two-sided";
    case Projection::block: return "block";
  }
  throw Error("projection " + std::to_string(static_cast<int>(projection)) + " does not exist", "osft");
}

Projection projection_from_name(const std::string& name) {
  for (Projection p : {Projection::two_sided, Projection::block})
    if (projection_name(p) == name) return p;
  throw Error("unknown projection '" + name + "'", "--projection", "choose two-sided or block");
}

namespace {

void validate(const OsftOptions& o) {
  (void)osft_mode_name(o.mode);  // a value outside the enums is a bug, refused here
  (void)projection_name(o.projection);
}

// Where a side's complement basis is kept: the two-sided projection of the step (update mode) or
// the gradient (gradient mode), when l = r − k < k on a side whose dimension equals the rank.
// Factored mode projects its factors against U_h, V_h and uses none.
bool keeps_complements(const OsftOptions& o) {
  return o.mode != OsftMode::factored && o.projection == Projection::two_sided;
}

// Per-thread work of one target (floats): the projection of a step or gradient (a side given by
// its complement has l = r − k columns, else k), the restore (k·max(N, M) + k·k, no more than
// the former), gradient mode's W − W₀ for the leak, factored mode's factor products.
int64_t per_thread_work(int64_t n, int64_t m, int64_t k, const OsftOptions& o) {
  const int64_t r = std::min(n, m), dim = std::max(k, r - k);
  int64_t work = dim * (std::max(n, m) + dim);
  if (o.mode == OsftMode::gradient) work += n * m;
  if (o.mode == OsftMode::factored) work = std::max(work, n * m + 2 * r * std::max(n, m));
  return work;
}

struct Decomposition {
  OsftMatrixPlan plan;
  Tensor u_h, v_h;  // (N, k), (k, M)
  Tensor u_c, v_c;  // (N, l), (l, M): the complement of a complete side when kept (above), else empty
  Svd full;         // the whole thin SVD (factored mode needs the low part too)
};

// The plan entry of a matrix with singular values `values` (a host tensor of r, descending) and k
// protected.
OsftMatrixPlan plan_entry(const std::string& name, int64_t n, int64_t m, int64_t k, const Tensor& values,
                          const RankPolicy& policy) {
  const float* s = values.data();
  OsftMatrixPlan p;
  const int64_t r = std::min(n, m);
  p.name = name;
  p.rows = n, p.cols = m, p.rank = r, p.frozen = k;
  p.sigma_k = k > 0 ? s[k - 1] : 0.0;
  p.singular_values.assign(s, s + r);
  auto imp = policy.importance().find(name);
  if (imp != policy.importance().end()) p.importance = imp->second;
  double total = 0, kept = 0;
  for (int64_t i = 0; i < r; ++i) {
    total += static_cast<double>(s[i]) * s[i];
    if (i < k) kept += static_cast<double>(s[i]) * s[i];
  }
  p.energy_kept = total > 0 ? kept / total : 0;
  return p;
}

// SVD of one matrix and its protected factors under `policy`. The SVD runs in double: update
// mode's repair takes U_hᵀW₀ = Σ_hV_h as exact, and fp32 arithmetic would leave ~1e-6 of W there.
Decomposition decompose_one(Backend& backend, const std::string& name, const Tensor& w, const RankPolicy& policy,
                            const OsftOptions& options) {
  Decomposition d;
  const int64_t n = w.dim(0), m = w.dim(1), r = std::min(n, m);
  Svd f = backend.svd(w, SvdPrecision::f64, name);  // U (N, r), s (r,), Vᵀ (r, M)
  const int64_t k = policy.frozen_rank(name, r);
  d.plan = plan_entry(name, n, m, k, host_copy(backend, f.s), policy);
  d.u_h = backend.zeros({n, k}, DType::f32);
  backend.copy_columns(f.u, 0, d.u_h);
  d.v_h = device_copy(backend, f.vt.rows(0, k));
  // A side whose dimension equals the rank has a complete basis, so its complement is spanned by
  // the remaining l singular vectors: projecting onto those is cheaper when l < k.
  const int64_t l = r - k;
  if (keeps_complements(options) && l < k && n == r) {
    d.u_c = backend.zeros({n, l}, DType::f32);
    backend.copy_columns(f.u, k, d.u_c);
  }
  if (keeps_complements(options) && l < k && m == r) d.v_c = device_copy(backend, f.vt.rows(k, r));
  if (options.mode == OsftMode::factored) d.full = std::move(f);  // only factored mode needs the low part
  return d;
}

}  // namespace

// The adaptive policy's importance, measured on the model's current weights.
void measure_importance(RankPolicy& policy, const LlamaModel& model, const std::vector<size_t>& targets,
                        const std::vector<Example>* calibration) {
  if (!policy.adaptive()) return;
  check(calibration != nullptr, "the adaptive rank policy needs calibration samples", "osft",
        "pass --calibration-data (samples of the previous task)");
  policy.set_importance(layer_importance(model, targets, *calibration));
}

std::vector<OsftMatrixPlan> make_osft_plan(const LlamaModel& model, const OsftOptions& options) {
  validate(options);
  RankPolicy policy(options.rank);
  const auto indices = select_targets(model, options.target_patterns);
  measure_importance(policy, model, indices, options.calibration);
  std::vector<OsftMatrixPlan> plan(indices.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < indices.size(); ++i) {
    const Parameter& p = model.parameters()[indices[i]];
    plan[i] = decompose_one(cpu_backend(), p.name, p.value, policy, options).plan;
  }
  return plan;
}

json osft_plan_json(const std::vector<OsftMatrixPlan>& plan, const OsftOptions& o) {
  json matrices = json::array();
  int64_t frozen = 0, total = 0;
  for (const auto& p : plan) {
    matrices.push_back({{"name", p.name},
                        {"shape", {p.rows, p.cols}},
                        {"rank", p.rank},
                        {"k", p.frozen},
                        {"sigma_k", p.sigma_k},
                        {"energy_kept", p.energy_kept},
                        {"importance", p.importance >= 0 ? json(p.importance) : json(nullptr)}});
    frozen += p.frozen;
    total += p.rank;
  }
  return {{"method", "osft"},
          {"mode", osft_mode_name(o.mode)},
          {"projection", projection_name(o.projection)},
          {"rank_policy", RankPolicy(o.rank).describe()},
          {"frozen_fraction", total ? static_cast<double>(frozen) / static_cast<double>(total) : 0.0},
          {"extra_floats", osft_extra_floats(plan, o)},
          {"matrices", matrices}};
}

int64_t osft_extra_floats(const std::vector<OsftMatrixPlan>& plan, const OsftOptions& options) {
  int64_t n = 0;
  for (const auto& p : plan) {
    if (p.frozen == 0 || p.frozen == p.rank) continue;
    n += p.frozen * (p.rows + p.cols + 1);  // U_h, V_h, Σ_h
    const int64_t l = p.rank - p.frozen;    // complements of complete sides
    if (keeps_complements(options) && l < p.frozen)
      n += l * ((p.rows == p.rank ? p.rows : 0) + (p.cols == p.rank ? p.cols : 0));
    if (options.mode == OsftMode::gradient) n += p.rows * p.cols;  // W₀, for the leak AdamW's scaling causes
  }
  return n;
}

MemoryLine OsftStrategy::planned_memory(const ModelConfig& config, int64_t /*seq*/, int threads) const {
  const auto specs = parameter_specs(config);
  std::vector<OsftMatrixPlan> plan;
  int64_t factored = 0, scratch = 0, svd_work = 0;
  for (size_t i : select_targets(specs, config.model_type, options_.target_patterns)) {
    OsftMatrixPlan p;
    p.rows = specs[i].shape[0], p.cols = specs[i].shape[1], p.rank = std::min(p.rows, p.cols);
    p.frozen = policy_.max_frozen_rank(specs[i].name, p.rank);
    const int64_t n = p.rows, m = p.cols, r = p.rank, k = p.frozen, l = r - k;
    // dgesdd on a double copy it destroys: U, Σ, Vᵀ, the copy and its work (≈ 4r² + 7r +
    // max(n, m)) in doubles, plus the fp32 factors they are rounded to.
    svd_work = std::max(svd_work, 2 * (n * r + r + r * m + n * m + 4 * r * r + 7 * r + std::max(n, m)) +
                                      n * r + r + r * m);
    if (k > 0 && k < r) {
      scratch = std::max(scratch, per_thread_work(n, m, k, options_));
      if (options_.mode == OsftMode::factored)
        factored += 4 * (n * l + l + l * m) + n * m;  // U_l, Σ_l, V_l with gradients and moments; U_hΣ_hV_h
    }
    plan.push_back(p);
  }
  const int64_t floats = osft_extra_floats(plan, options_) + factored + threads * std::max(scratch, svd_work);
  const char* kept = options_.mode == OsftMode::gradient   ? "U_h, S_h, V_h, W0"
                     : options_.mode == OsftMode::factored ? "U_h, S_h, V_h, factors"
                                                           : "U_h, S_h, V_h";
  return {"osft state", floats * 4,
          std::to_string(plan.size()) + " targets (" + kept + "), per-thread SVD and projection work; " +
              policy_.describe()};
}

Strategy::BeginTaskPass OsftStrategy::planned_begin_task_pass(const ModelConfig& config) const {
  if (!policy_.adaptive() || !options_.calibration) return {};
  // layer_importance: a graph of kImportanceRows × the longest sequence, and one target's
  // output Wx (rows, N) at a time.
  const auto specs = parameter_specs(config);
  int64_t widest = 0;
  for (size_t i : select_targets(specs, config.model_type, options_.target_patterns))
    widest = std::max(widest, specs[i].shape[0]);
  const int64_t seq = importance_sequence_length(*options_.calibration);
  return {kImportanceRows, seq, kImportanceRows * seq * widest};
}

OsftStrategy::OsftStrategy(OsftOptions options) : options_(std::move(options)), policy_(options_.rank) {
  validate(options_);
}

void OsftStrategy::decompose(LlamaModel& model, AdamW& optimizer, const std::vector<size_t>& indices,
                             const std::vector<Tensor>& start_weights) {
  std::vector<Decomposition> parts(indices.size());
  // One matrix per task; BLAS/LAPACK inside the parallel region run on the calling thread, so
  // each SVD is computed the same way whatever the scheduling (deterministic).
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < indices.size(); ++i)
    parts[i] = decompose_one(backend_, model.parameters()[indices[i]].name, start_weights[i], policy_, options_);
  std::vector<TargetState> states(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    states[i].plan = std::move(parts[i].plan);
    states[i].u_h = std::move(parts[i].u_h), states[i].v_h = std::move(parts[i].v_h);
    states[i].u_c = std::move(parts[i].u_c), states[i].v_c = std::move(parts[i].v_c);
    const OsftMatrixPlan& p = states[i].plan;
    if (options_.mode == OsftMode::gradient && p.frozen > 0 && p.frozen < p.rank)
      states[i].w0 = device_copy(backend_, start_weights[i]);
    if (options_.mode == OsftMode::factored && p.frozen > 0 && p.frozen < p.rank) {
      const Svd& f = parts[i].full;
      const int64_t n = p.rows, r = p.rank, k = p.frozen, l = r - k;
      states[i].u_l = backend_.zeros({n, l}, DType::f32);
      backend_.copy_columns(f.u, k, states[i].u_l);
      states[i].s_l = device_copy(backend_, f.s.rows(k, r));
      states[i].v_l = device_copy(backend_, f.vt.rows(k, r));
    }
  }
  install(model, optimizer, indices, std::move(states));
}

void OsftStrategy::install(LlamaModel& model, AdamW& optimizer, const std::vector<size_t>& indices,
                           std::vector<TargetState> states) {
  targets_.clear();
  plan_.clear();
  int64_t scratch = 0;
  std::vector<bool> is_target(model.parameters().size(), false);
  for (size_t i = 0; i < indices.size(); ++i) {
    TargetState& st = states[i];
    const OsftMatrixPlan& p = st.plan;
    plan_.push_back(p);
    is_target[indices[i]] = true;
    if (p.frozen == p.rank) {  // fully protected: simply frozen
      optimizer.set_rule(indices[i], {false, 1.f, -1.f, false});
      continue;
    }
    if (p.frozen == 0) {  // nothing protected: plain fine-tuning, bit for bit
      optimizer.set_rule(indices[i], {});
      continue;
    }
    // Update mode applies AdamW's step itself, projected (after_step).
    optimizer.set_rule(indices[i], {true, 1.f, -1.f, options_.mode == OsftMode::update});
    const int64_t n = p.rows, m = p.cols, k = p.frozen;
    Target t;
    t.index = indices[i];
    t.n = n, t.m = m, t.k = k;
    t.u_h = std::move(st.u_h), t.v_h = std::move(st.v_h), t.u_c = std::move(st.u_c), t.v_c = std::move(st.v_c);
    t.s_h = device_copy(backend_, Tensor::from({k}, std::vector<float>(p.singular_values.begin(),
                                                                         p.singular_values.begin() + k)));
    t.w0 = std::move(st.w0);
    if (options_.mode == OsftMode::factored) {
      t.u_l = std::move(st.u_l), t.s_l = std::move(st.s_l), t.v_l = std::move(st.v_l);
      t.du = backend_.zeros(t.u_l.shape(), DType::f32);
      t.ds = backend_.zeros(t.s_l.shape(), DType::f32);
      t.dv = backend_.zeros(t.v_l.shape(), DType::f32);
      // high = (U_h Σ_h) V_h (N, M)
      Tensor us = device_copy(backend_, t.u_h);
      backend_.scale_columns(us, t.s_h);
      t.high = backend_.zeros({n, m}, DType::f32);
      backend_.matmul(us, Trans::no, t.v_h, Trans::no, t.high, 1.f, 0.f);
      optimizer.set_rule(indices[i], {false, 1.f, -1.f, false});  // W is rebuilt from the factors
    }
    targets_.push_back(std::move(t));
    scratch = std::max(scratch, per_thread_work(n, m, k, options_));
  }
  steps_ = 0;
  if (options_.mode == OsftMode::factored) {
    factor_params_.clear();
    for (size_t i = 0; i < targets_.size(); ++i) {
      const std::string id = std::to_string(targets_[i].index);
      factor_params_.push_back({"u_l." + id, targets_[i].u_l});
      factor_params_.push_back({"s_l." + id, targets_[i].s_l});
      factor_params_.push_back({"v_l." + id, targets_[i].v_l});
    }
    factor_adam_ = std::make_unique<AdamW>(factor_params_, optimizer.options());
  }
  if (options_.freeze_non_targets)
    for (size_t i = 0; i < is_target.size(); ++i)
      if (!is_target[i]) optimizer.set_rule(i, {false, 1.f, -1.f, false});
  scratch_.clear();
  for (int i = 0; i < omp_get_max_threads(); ++i) scratch_.push_back(backend_.zeros({scratch}, DType::f32));
  int64_t frozen = 0, total = 0;
  for (const auto& p : plan_) frozen += p.frozen, total += p.rank;
  log_info("osft: ", plan_.size(), " target matrices, ", frozen, " of ", total, " singular directions protected (",
           policy_.describe(), "; mode ", osft_mode_name(options_.mode), ", ", projection_name(options_.projection), " projection); extra memory ",
           static_cast<double>(osft_extra_floats(plan_, options_)) * 4.0 / (1 << 20), " MiB");
}

void OsftStrategy::set_task(int64_t index, int64_t count, const std::vector<Example>* calibration) {
  options_.rank.task_index = index;
  options_.rank.num_tasks = count;
  options_.calibration = calibration;
  policy_ = RankPolicy(options_.rank);
}

void OsftStrategy::before_task(int64_t index, int64_t count, const std::vector<Example>& previous) {
  calibration_.assign(previous.begin(),
                      previous.begin() + std::min<int64_t>(options_.calibration_samples, static_cast<int64_t>(previous.size())));
  set_task(index, count, &calibration_);
}

void OsftStrategy::write_task_files(const std::string& dir) const {
  write_text_atomic((fs::path(dir) / "osft_plan.json").string(), osft_plan_json(plan_, options_).dump(2) + "\n");
}

void OsftStrategy::release_task_state() {
  targets_.clear();
  scratch_.clear();
  factor_adam_.reset();
  factor_params_.clear();
}

void OsftStrategy::end_task(LlamaModel& /*model*/, const std::vector<Example>& /*trained_on*/) {
  release_task_state();  // the task's subspaces are spent; its plan (plan_) stays for the reports
}

void OsftStrategy::begin_task(LlamaModel& model, AdamW& optimizer) {
  // A task that was not ended (a second begin_task) frees its state before the calibration pass
  // and the SVDs, so two tasks' state never coexist (the memory plan counts one).
  release_task_state();
  std::vector<Tensor> start;
  const auto indices = select_targets(model, options_.target_patterns);
  for (size_t i : indices) start.push_back(model.parameters()[i].value);
  measure_importance(policy_, model, indices, options_.calibration);
  decompose(model, optimizer, indices, start);
}

void OsftStrategy::project(Tensor& d, const Target& t, Tensor& work) const {
  if (options_.projection == Projection::block) {
    project_block(backend_, d, t.u_h, t.v_h, work);
    return;
  }
  const ProjectionSide left = t.u_c.empty() ? ProjectionSide{t.u_h, false} : ProjectionSide{t.u_c, true};
  const ProjectionSide right = t.v_c.empty() ? ProjectionSide{t.v_h, false} : ProjectionSide{t.v_c, true};
  project_two_sided(backend_, d, left, right, work);
}

void OsftStrategy::on_gradients(LlamaModel& model, Gradients& grads) {
  if (options_.mode == OsftMode::factored) {
    // Chain rule through W = high + U_l Σ_l V_l; the dense gradient is then spent.
#pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < targets_.size(); ++i) {
      Target& t = targets_[i];
      Tensor& dw = grads.table()[t.index].value;
      // dU_l = (dW V_lᵀ) Σ_l (N, l); dΣ_l = diag(U_lᵀ dW V_lᵀ) (l,); dV_l = Σ_l (U_lᵀ dW) (l, M).
      backend_.matmul(dw, Trans::no, t.v_l, Trans::yes, t.du, 1.f, 0.f);
      backend_.column_dots(t.u_l, t.du, t.ds);
      backend_.scale_columns(t.du, t.s_l);
      backend_.matmul(t.u_l, Trans::yes, dw, Trans::no, t.dv, 1.f, 0.f);
      backend_.scale_rows(t.dv, t.s_l);
      backend_.fill(dw, 0.f);
    }
    return;
  }
  if (options_.mode != OsftMode::gradient) return;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < targets_.size(); ++i)
    project(grads.table()[targets_[i].index].value, targets_[i], scratch_[omp_get_thread_num()]);
}

double OsftStrategy::extra_grad_norm_sq() const {
  if (options_.mode != OsftMode::factored) return 0.0;
  double sum = 0;
  for (const auto& t : targets_)
    for (const Tensor* g : {&t.du, &t.ds, &t.dv}) sum += backend_.sum_of_squares(*g);
  return sum;
}

void OsftStrategy::after_step(LlamaModel& model, Gradients& grads, float lr, float clip_scale, bool measure) {
  ++steps_;
  step_factors(model, lr, clip_scale);
  apply_and_measure(model, grads, measure);
}

void OsftStrategy::step_factors(LlamaModel& model, float lr, float clip_scale) {
  if (options_.mode != OsftMode::factored) return;
  factor_adam_->begin_step();
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < targets_.size(); ++i) {
    Target& t = targets_[i];
    Tensor& work = scratch_[omp_get_thread_num()];
    for (Tensor* g : {&t.du, &t.ds, &t.dv}) backend_.scale(*g, clip_scale);
    // One-sided projections (after clipping, as in mini_trainer): dU_l ⟂ U_h, dV_l ⟂ V_h.
    remove_left(backend_, t.du, t.u_h, work);
    remove_right(backend_, t.dv, t.v_h, work);
    // AdamW on the factors (already clipped above).
    Tensor* params[] = {&t.u_l, &t.s_l, &t.v_l};
    Tensor* gs[] = {&t.du, &t.ds, &t.dv};
    for (int j = 0; j < 3; ++j) factor_adam_->update(3 * i + j, *params[j], *gs[j], lr, 1.f);
    // Post-step re-projection of U_l and V_l onto the complement.
    remove_left(backend_, t.u_l, t.u_h, work);
    remove_right(backend_, t.v_l, t.v_h, work);
    // W = high + (U_l Σ_l) V_l
    Tensor us = work.view(0, {t.n, t.s_l.numel()});
    backend_.copy(t.u_l, us);
    backend_.scale_columns(us, t.s_l);
    Tensor& w = model.parameters()[t.index].value;
    backend_.copy(t.high, w);
    backend_.matmul(us, Trans::no, t.v_l, Trans::no, w, 1.f, 1.f);
  }
}

void OsftStrategy::apply_and_measure(LlamaModel& model, Gradients& grads, bool measure) {
  const bool update = options_.mode == OsftMode::update;
  const bool block = options_.projection == Projection::block;
  // The restore is exact whenever it runs; between runs only the rounding of W − P(s) builds up.
  // Measured steps restore first, so the logged leak is the invariant itself.
  const bool restore = update && (measure || steps_ % kRepairInterval == 0);
  // Per-target leak sums, only on measured (logged) steps: other steps allocate nothing.
  const size_t measured = measure ? targets_.size() : 0;
  std::vector<double> num_u(measured, 0), num_v(measured, 0), den(measured, 0);
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < targets_.size(); ++i) {
    const Target& t = targets_[i];
    Tensor& w = model.parameters()[t.index].value;  // (N, M)
    Tensor& work = scratch_[omp_get_thread_num()];
    if (update) {
      Tensor& step = grads.table()[t.index].value;  // AdamW's deferred step s (N, M)
      project(step, t, work);
      backend_.axpy(w, step, -1.f);
      if (restore) {  // W ← W₀ + P(W − W₀), from the factors
        if (block)
          restore_block(backend_, w, t.u_h, t.s_h, t.v_h, work);
        else
          restore_two_sided(backend_, w, t.u_h, t.s_h, t.v_h, work);
      }
    }
    if (!measure) continue;
    if (t.w0.empty()) {
      // Update and factored modes: the drift of the protected rows and columns from W₀'s,
      // ‖U_hᵀW − Σ_hV_h‖ and ‖WV_hᵀ − U_hΣ_h‖, against the protected block's own size ‖Σ_h‖.
      const auto [rows, cols] = protected_drift_sq(backend_, w, t.u_h, t.s_h, t.v_h, work);
      num_u[i] = rows, num_v[i] = cols;
      den[i] = backend_.sum_of_squares(t.s_h);
      continue;
    }
    // Gradient mode: the leak of what AdamW applied, ‖U_hᵀ(W − W₀)‖ and ‖(W − W₀)V_hᵀ‖ against
    // ‖W − W₀‖.
    const int64_t nm = t.n * t.m;
    Tensor d = work.view(0, {t.n, t.m});  // W − W₀
    backend_.copy(w, d);
    backend_.axpy(d, t.w0, -1.f);
    Tensor left = work.view(nm, {t.k, t.m}), right = work.view(nm, {t.n, t.k});
    backend_.matmul(t.u_h, Trans::yes, d, Trans::no, left, 1.f, 0.f);
    num_u[i] = backend_.sum_of_squares(left);
    backend_.matmul(d, Trans::no, t.v_h, Trans::yes, right, 1.f, 0.f);
    num_v[i] = backend_.sum_of_squares(right);
    den[i] = backend_.sum_of_squares(d);
  }
  if (!measure) return;
  double nu = 0, nv = 0, dd = 0;
  for (size_t i = 0; i < targets_.size(); ++i) nu += num_u[i], nv += num_v[i], dd += den[i];
  leak_u_ = dd > 0 ? std::sqrt(nu / dd) : 0.0;
  leak_v_ = dd > 0 ? std::sqrt(nv / dd) : 0.0;
}

std::vector<std::pair<std::string, double>> OsftStrategy::step_metrics() const {
  return {{"leak_u", leak_u_}, {"leak_v", leak_v_}};
}

void OsftStrategy::save_state(const std::string& dir) const {
  // The task's decomposition as it was made: every target's singular values (its plan entry) and
  // the protected factors (plus gradient mode's W₀ and complements). Resuming installs them
  // instead of decomposing again, so the subspaces are the same bits.
  std::vector<TensorToWrite> tensors;
  std::vector<Tensor> values;  // the singular values as tensors, alive until written
  values.reserve(plan_.size());
  for (size_t i = 0; i < plan_.size(); ++i) {
    values.push_back(Tensor::from({plan_[i].rank}, plan_[i].singular_values));
    tensors.push_back({"s." + plan_[i].name, &values.back(), DType::f32});
  }
  for (const auto& t : targets_) {
    const std::string id = std::to_string(t.index);
    tensors.push_back({"u_h." + id, &t.u_h, DType::f32});
    tensors.push_back({"v_h." + id, &t.v_h, DType::f32});
    if (!t.u_c.empty()) tensors.push_back({"u_c." + id, &t.u_c, DType::f32});
    if (!t.v_c.empty()) tensors.push_back({"v_c." + id, &t.v_c, DType::f32});
    if (!t.w0.empty()) tensors.push_back({"w0." + id, &t.w0, DType::f32});
  }
  if (factor_adam_)  // factored mode: the trained factors and their AdamW moments
    for (size_t j = 0; j < factor_params_.size(); ++j) {
      tensors.push_back({factor_params_[j].name, &factor_params_[j].value, DType::f32});
      tensors.push_back({"m." + factor_params_[j].name, &factor_adam_->first_moments()[j], DType::f32});
      tensors.push_back({"v." + factor_params_[j].name, &factor_adam_->second_moments()[j], DType::f32});
    }
  write_safetensors((fs::path(dir) / "osft_state.safetensors").string(), tensors,
                    {{"factor_adam_steps", std::to_string(factor_adam_ ? factor_adam_->step_count() : 0)},
                     {"osft_steps", std::to_string(steps_)}});
  if (policy_.adaptive())  // ranks depend on the importance measured at the task start
    write_text_atomic((fs::path(dir) / "osft_importance.json").string(), json(policy_.importance()).dump(2) + "\n");
}

void OsftStrategy::load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) {
  const std::string path = confined_path(dir, "osft_state.safetensors", dir);
  SafetensorsFile f(path);
  if (policy_.adaptive()) {
    json imp = json::parse(read_text_file(confined_path(dir, "osft_importance.json", dir)), nullptr, false);
    check(imp.is_object(), "osft_importance.json is missing or corrupt", dir);
    policy_.set_importance(imp.get<std::map<std::string, double>>());
  }
  // Reads `key` with the shape the decomposition has; anything else is a checkpoint of another
  // model or OSFT configuration.
  auto read = [&](const std::string& key, const Shape& shape) {
    const char* hint = "the checkpoint was written with other OSFT flags (targets, rank policy or mode); resume with the same flags";
    check(f.has(key), "has no tensor '" + key + "'", path, hint);
    Tensor t = f.read_f32(key);
    check(t.shape() == shape, "tensor '" + key + "' has shape " + shape_to_string(t.shape()) + ", expected " + shape_to_string(shape),
          path, hint);
    return t;
  };
  const auto indices = select_targets(model, options_.target_patterns);
  if (!indices.empty() && !f.has("s." + model.parameters()[indices[0]].name)) {
    // A checkpoint of sculpt before 2026-12-07 kept each projected target's W₀ (w0.<index>) and
    // decomposed it again on resume; do the same (the subspaces then come from today's SVD).
    log_warn(path, ": OSFT state in the older format (W0 copies); decomposing the task-start weights again");
    std::vector<Tensor> start;
    for (size_t i : indices) {
      const std::string key = "w0." + std::to_string(i);
      start.push_back(f.has(key) ? f.read_f32(key) : model.parameters()[i].value);
    }
    decompose(model, optimizer, indices, start);
  } else {
    std::vector<TargetState> states(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) {
      const Parameter& param = model.parameters()[indices[i]];
      const int64_t n = param.value.dim(0), m = param.value.dim(1), r = std::min(n, m);
      const int64_t k = policy_.frozen_rank(param.name, r);
      const Tensor s = read("s." + param.name, {r});
      TargetState& st = states[i];
      st.plan = plan_entry(param.name, n, m, k, s, policy_);
      if (k == 0 || k == r) continue;
      const std::string id = std::to_string(indices[i]);
      // Read on the host, kept on the backend's device.
      st.u_h = device_copy(backend_, read("u_h." + id, {n, k}));
      st.v_h = device_copy(backend_, read("v_h." + id, {k, m}));
      if (f.has("u_c." + id)) st.u_c = device_copy(backend_, read("u_c." + id, {n, r - k}));
      if (f.has("v_c." + id)) st.v_c = device_copy(backend_, read("v_c." + id, {r - k, m}));
      if (options_.mode == OsftMode::gradient) st.w0 = device_copy(backend_, read("w0." + id, {n, m}));
      if (options_.mode == OsftMode::factored) {  // shapes here, values below with the moments
        st.u_l = backend_.zeros({n, r - k}, DType::f32), st.s_l = backend_.zeros({r - k}, DType::f32);
        st.v_l = backend_.zeros({r - k, m}, DType::f32);
      }
    }
    install(model, optimizer, indices, std::move(states));
  }
  if (factor_adam_) {
    for (size_t j = 0; j < factor_params_.size(); ++j) {
      const Shape shape = factor_params_[j].value.shape();
      backend_.copy(read(factor_params_[j].name, shape), factor_params_[j].value);
      backend_.copy(read("m." + factor_params_[j].name, shape), factor_adam_->first_moments()[j]);
      backend_.copy(read("v." + factor_params_[j].name, shape), factor_adam_->second_moments()[j]);
    }
    factor_adam_->set_step_count(std::stoll(f.metadata().at("factor_adam_steps")));
  }
  // The restore schedule continues where it was (older checkpoints restored every step).
  const auto steps = f.metadata().find("osft_steps");
  steps_ = steps != f.metadata().end() ? std::stoll(steps->second) : 0;
}

}  // namespace sculpt
