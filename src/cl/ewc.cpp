#include "sculpt/cl/ewc.h"

#include <cstdio>
#include <filesystem>

#include "sculpt/backend/backend.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/data/batching.h"
#include "sculpt/io/safetensors.h"

namespace sculpt {

namespace fs = std::filesystem;

MemoryLine EwcStrategy::planned_memory(const ModelConfig& config, int64_t seq, int threads) const {
  // A and μ, and at the end of a task the Fisher, its gradients and a one-sequence graph.
  const auto graph = TrainingMemoryPlan::make(config, 1, seq, threads, TrainingGraph::kHeadChunkRows);
  return {"ewc state", (4 * config.parameter_count() + graph.activations + graph.backward) * 4,
          "penalty (A, mu), Fisher and its gradients, one-sequence graph"};
}

std::vector<Tensor> EwcStrategy::fisher(LlamaModel& model, const std::vector<Example>& examples, Backend& backend) {
  const auto& params = model.parameters();
  std::vector<Tensor> f;
  for (const auto& p : params) f.push_back(backend.zeros(p.value.shape(), DType::f32));
  int64_t longest = 1;
  for (const auto& e : examples) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  TrainingGraph graph(model, 1, longest);
  Gradients grads(model);
  for (const Example& e : examples) {
    grads.zero();
    graph.forward_backward(make_token_batch({&e}), 1.f, grads);  // ∇ of the summed NLL of one sample
    for (size_t i = 0; i < params.size(); ++i) {
      const Tensor& g = grads.table()[i].value;
      backend.addcmul(f[i], g, g, 1.f);
    }
  }
  const float inv = 1.f / static_cast<float>(std::max<size_t>(examples.size(), 1));
  for (auto& t : f) backend.scale(t, inv);
  return f;
}

void EwcStrategy::end_task(LlamaModel& model, const std::vector<Example>& trained_on) {
  // A seeded subset of the task's examples.
  std::vector<Example> sample;
  const auto order = epoch_order(static_cast<int64_t>(trained_on.size()), options_.seed + static_cast<uint64_t>(tasks_), 0);
  for (size_t k = 0; k < order.size() && static_cast<int64_t>(k) < options_.fisher_samples; ++k)
    sample.push_back(trained_on[static_cast<size_t>(order[k])]);
  std::vector<Tensor> f = fisher(model, sample, backend_);
  auto& params = model.parameters();
  if (a_.empty())
    for (const auto& p : params) {
      a_.push_back(backend_.zeros(p.value.shape(), DType::f32));
      mu_.push_back(backend_.zeros(p.value.shape(), DType::f32));
    }
  for (size_t i = 0; i < params.size(); ++i)
    constant_ += backend_.merge_quadratic(a_[i], mu_[i], f[i], params[i].value);
  ++tasks_;
  log_info("ewc: Fisher of task ", tasks_, " from ", sample.size(), " samples; penalty λ = ", options_.lambda);
}

double EwcStrategy::penalty(const LlamaModel& model) const {
  if (tasks_ == 0) return 0;
  double sum = constant_;
  const auto& params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i)
    sum += backend_.anchored_quadratic(a_[i], params[i].value, mu_[i], nullptr, 0.f);
  return 0.5 * options_.lambda * sum;
}

void EwcStrategy::on_gradients(LlamaModel& model, Gradients& grads) {
  if (tasks_ == 0) return;
  // The anchor's gradient λ a ⊙ (θ − μ) and its value ½λ Σ a (θ − μ)² (for the step line) in one pass.
  const auto& params = model.parameters();
  const auto lambda = static_cast<float>(options_.lambda);
  double sum = constant_;
  for (size_t i = 0; i < params.size(); ++i)
    sum += backend_.anchored_quadratic(a_[i], params[i].value, mu_[i], &grads.table()[i].value, lambda);
  last_penalty_ = 0.5 * options_.lambda * sum;
}

std::vector<std::pair<std::string, double>> EwcStrategy::step_metrics() const {
  if (tasks_ == 0) return {};
  return {{"ewc_penalty", last_penalty_}};
}

void EwcStrategy::save_between_tasks(const std::string& dir) const {
  fs::create_directories(dir);
  std::vector<TensorToWrite> tensors;
  for (size_t i = 0; i < a_.size(); ++i) {
    tensors.push_back({"A." + std::to_string(i), &a_[i], DType::f32});
    tensors.push_back({"mu." + std::to_string(i), &mu_[i], DType::f32});
  }
  char constant[40];
  std::snprintf(constant, sizeof constant, "%.17g", constant_);
  write_safetensors(confined_path(dir, "ewc_state.safetensors", dir), tensors,
                    {{"tasks", std::to_string(tasks_)}, {"constant", constant}});
}

void EwcStrategy::load_between_tasks(const std::string& dir) {
  const std::string path = confined_path(dir, "ewc_state.safetensors", dir);
  check(fs::exists(path), "EWC state is missing", path, "the run directory is incomplete; start the method again");
  SafetensorsFile f(path);
  tasks_ = std::stoll(f.metadata().at("tasks"));
  constant_ = std::stod(f.metadata().at("constant"));
  a_.clear(), mu_.clear();
  for (size_t i = 0; f.has("A." + std::to_string(i)); ++i) {
    a_.push_back(f.read_f32("A." + std::to_string(i)));
    mu_.push_back(f.read_f32("mu." + std::to_string(i)));
  }
}

}  // namespace sculpt
