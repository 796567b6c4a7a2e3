#include "sculpt/cl/osft/osft.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "sculpt/cl/osft/importance.h"
#include "sculpt/cl/osft/targets.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/linalg/blas.h"
#include "sculpt/linalg/svd.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

void validate(const OsftOptions& o) {
  check(o.mode == "update" || o.mode == "gradient", "unknown OSFT mode '" + o.mode + "'", "--osft-mode",
        "choose update or gradient");
  check(o.projection == "two-sided" || o.projection == "block", "unknown projection '" + o.projection + "'",
        "--projection", "choose two-sided or block");
}

struct Decomposition {
  OsftMatrixPlan plan;
  Tensor u_h, v_h;
};

// SVD of one matrix and its protected factors under `policy`.
Decomposition decompose_one(const std::string& name, const Tensor& w, const RankPolicy& policy) {
  Decomposition d;
  const int64_t n = w.dim(0), m = w.dim(1), r = std::min(n, m);
  Svd f = svd(w, name);
  const int64_t k = policy.frozen_rank(name, r);
  d.plan.name = name;
  d.plan.rows = n, d.plan.cols = m, d.plan.rank = r, d.plan.frozen = k;
  d.plan.sigma_k = k > 0 ? f.s[k - 1] : 0.0;
  d.plan.singular_values.assign(f.s.data(), f.s.data() + r);
  auto imp = policy.importance().find(name);
  if (imp != policy.importance().end()) d.plan.importance = imp->second;
  double total = 0, kept = 0;
  for (int64_t i = 0; i < r; ++i) {
    total += static_cast<double>(f.s[i]) * f.s[i];
    if (i < k) kept += static_cast<double>(f.s[i]) * f.s[i];
  }
  d.plan.energy_kept = total > 0 ? kept / total : 0;
  d.u_h = Tensor::zeros({n, k});
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(d.u_h.data() + i * k, f.u.data() + i * r, sizeof(float) * k);
  d.v_h = f.vt.rows(0, k).clone();
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
    plan[i] = decompose_one(p.name, p.value, policy).plan;
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
          {"mode", o.mode},
          {"projection", o.projection},
          {"rank_policy", RankPolicy(o.rank).describe()},
          {"frozen_fraction", total ? static_cast<double>(frozen) / static_cast<double>(total) : 0.0},
          {"extra_floats", osft_extra_floats(plan)},
          {"matrices", matrices}};
}

int64_t osft_extra_floats(const std::vector<OsftMatrixPlan>& plan) {
  int64_t n = 0;
  for (const auto& p : plan)
    if (p.frozen > 0 && p.frozen < p.rank) n += p.frozen * (p.rows + p.cols) + p.rows * p.cols;
  return n;
}

OsftStrategy::OsftStrategy(OsftOptions options) : options_(std::move(options)), policy_(options_.rank) {
  validate(options_);
}

void OsftStrategy::decompose(LlamaModel& model, AdamW& optimizer, const std::vector<Tensor>& start_weights) {
  const auto indices = select_targets(model, options_.target_patterns);
  check(indices.size() == start_weights.size(), "OSFT state does not match the model's targets", "osft");
  std::vector<Decomposition> parts(indices.size());
  // One matrix per task; BLAS/LAPACK inside the parallel region run on the calling thread, so
  // each SVD is computed the same way whatever the scheduling (deterministic).
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < indices.size(); ++i)
    parts[i] = decompose_one(model.parameters()[indices[i]].name, start_weights[i], policy_);
  targets_.clear();
  plan_.clear();
  int64_t scratch = 0;
  std::vector<bool> is_target(model.parameters().size(), false);
  for (size_t i = 0; i < indices.size(); ++i) {
    const OsftMatrixPlan& p = parts[i].plan;
    plan_.push_back(p);
    is_target[indices[i]] = true;
    if (p.frozen == p.rank) {  // fully protected: simply frozen
      optimizer.set_rule(indices[i], {false, 1.f, -1.f});
      continue;
    }
    if (p.frozen == 0) continue;  // nothing protected: plain fine-tuning, bit for bit
    targets_.push_back({indices[i], p.rows, p.cols, p.frozen, parts[i].u_h, parts[i].v_h, start_weights[i].clone()});
    scratch = std::max(scratch, p.rows * p.cols + p.frozen * std::max(p.rows, p.cols) + p.frozen * p.frozen);
  }
  if (options_.freeze_non_targets)
    for (size_t i = 0; i < is_target.size(); ++i)
      if (!is_target[i]) optimizer.set_rule(i, {false, 1.f, -1.f});
  scratch_.assign(static_cast<size_t>(omp_get_max_threads()), std::vector<float>(static_cast<size_t>(scratch)));
  int64_t frozen = 0, total = 0;
  for (const auto& p : plan_) frozen += p.frozen, total += p.rank;
  log_info("osft: ", plan_.size(), " target matrices, ", frozen, " of ", total, " singular directions protected (",
           policy_.describe(), "; mode ", options_.mode, ", ", options_.projection, " projection); extra memory ",
           static_cast<double>(osft_extra_floats(plan_)) * 4.0 / (1 << 20), " MiB");
}

void OsftStrategy::begin_task(LlamaModel& model, AdamW& optimizer) {
  std::vector<Tensor> start;
  const auto indices = select_targets(model, options_.target_patterns);
  for (size_t i : indices) start.push_back(model.parameters()[i].value);
  measure_importance(policy_, model, indices, options_.calibration);
  decompose(model, optimizer, start);
}

void OsftStrategy::project(float* d, const Target& t, float* work) const {
  if (options_.projection == "block") project_block(d, t.u_h.data(), t.v_h.data(), t.n, t.m, t.k, work);
  else project_two_sided(d, t.u_h.data(), t.v_h.data(), t.n, t.m, t.k, work);
}

void OsftStrategy::on_gradients(LlamaModel& model, Gradients& grads) {
  if (options_.mode != "gradient") return;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < targets_.size(); ++i)
    project(grads.table()[targets_[i].index].value.data(), targets_[i], scratch_[omp_get_thread_num()].data());
}

void OsftStrategy::after_apply(LlamaModel& model, bool measure) {
  const bool update = options_.mode == "update";
  std::vector<double> num_u(targets_.size(), 0), num_v(targets_.size(), 0), den(targets_.size(), 0);
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < targets_.size(); ++i) {
    const Target& t = targets_[i];
    float* w = model.parameters()[t.index].value.data();
    float* d = scratch_[omp_get_thread_num()].data();        // W − W₀ (N×M)
    float* work = d + t.n * t.m;
    const int64_t nm = t.n * t.m;
    for (int64_t j = 0; j < nm; ++j) d[j] = w[j] - t.w0[j];
    if (update) {
      project(d, t, work);
      for (int64_t j = 0; j < nm; ++j) w[j] = t.w0[j] + d[j];
    }
    if (!measure) continue;
    // Leak of what was actually applied: ‖U_hᵀ(W − W₀)‖ and ‖(W − W₀)V_hᵀ‖ against ‖W − W₀‖.
    for (int64_t j = 0; j < nm; ++j) d[j] = w[j] - t.w0[j];
    gemm(Trans::yes, Trans::no, t.k, t.m, t.n, 1.f, t.u_h.data(), t.k, d, t.m, 0.f, work, t.m);
    for (int64_t j = 0; j < t.k * t.m; ++j) num_u[i] += static_cast<double>(work[j]) * work[j];
    gemm(Trans::no, Trans::yes, t.n, t.k, t.m, 1.f, d, t.m, t.v_h.data(), t.m, 0.f, work, t.k);
    for (int64_t j = 0; j < t.n * t.k; ++j) num_v[i] += static_cast<double>(work[j]) * work[j];
    for (int64_t j = 0; j < nm; ++j) den[i] += static_cast<double>(d[j]) * d[j];
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
  // The task-start weights of every projected target; resuming decomposes them again, which
  // reproduces the same subspaces (the SVD is deterministic).
  std::vector<TensorToWrite> tensors;
  for (const auto& t : targets_) tensors.push_back({"w0." + std::to_string(t.index), &t.w0, DType::f32});
  write_safetensors((fs::path(dir) / "osft_state.safetensors").string(), tensors);
  if (policy_.adaptive())  // ranks depend on the importance measured at the task start
    write_text_atomic((fs::path(dir) / "osft_importance.json").string(), json(policy_.importance()).dump(2) + "\n");
}

void OsftStrategy::load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) {
  SafetensorsFile f((fs::path(dir) / "osft_state.safetensors").string());
  if (policy_.adaptive()) {
    json imp = json::parse(read_text_file((fs::path(dir) / "osft_importance.json").string()), nullptr, false);
    check(imp.is_object(), "osft_importance.json is missing or corrupt", dir);
    policy_.set_importance(imp.get<std::map<std::string, double>>());
  }
  std::vector<Tensor> start;
  for (size_t i : select_targets(model, options_.target_patterns)) {
    const std::string key = "w0." + std::to_string(i);
    // Targets without a saved copy had k = 0 or k = r: their start value does not matter for
    // the plan except through the rank, which depends only on the shape.
    start.push_back(f.has(key) ? f.read_f32(key) : model.parameters()[i].value);
  }
  decompose(model, optimizer, start);
}

}  // namespace sculpt
