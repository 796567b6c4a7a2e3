#include "sculpt/cl/ewc.h"

#include <cstdio>
#include <filesystem>

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

std::vector<Tensor> EwcStrategy::fisher(LlamaModel& model, const std::vector<Example>& examples) {
  const auto& params = model.parameters();
  std::vector<Tensor> f;
  for (const auto& p : params) f.push_back(Tensor::zeros(p.value.shape()));
  int64_t longest = 1;
  for (const auto& e : examples) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  TrainingGraph graph(model, 1, longest);
  Gradients grads(model);
  for (const Example& e : examples) {
    grads.zero();
    graph.forward_backward(make_token_batch({&e}), 1.f, grads);  // ∇ of the summed NLL of one sample
    for (size_t i = 0; i < params.size(); ++i) {
      const float* g = grads.table()[i].value.data();
      float* out = f[i].data();
      const int64_t n = f[i].numel();
      for (int64_t k = 0; k < n; ++k) out[k] += g[k] * g[k];
    }
  }
  const float inv = 1.f / static_cast<float>(std::max<size_t>(examples.size(), 1));
  for (auto& t : f) {
    float* d = t.data();
    for (int64_t k = 0; k < t.numel(); ++k) d[k] *= inv;
  }
  return f;
}

void EwcStrategy::end_task(LlamaModel& model, const std::vector<Example>& trained_on) {
  // A seeded subset of the task's examples.
  std::vector<Example> sample;
  const auto order = epoch_order(static_cast<int64_t>(trained_on.size()), options_.seed + static_cast<uint64_t>(tasks_), 0);
  for (size_t k = 0; k < order.size() && static_cast<int64_t>(k) < options_.fisher_samples; ++k)
    sample.push_back(trained_on[static_cast<size_t>(order[k])]);
  std::vector<Tensor> f = fisher(model, sample);
  auto& params = model.parameters();
  if (a_.empty())
    for (const auto& p : params) {
      a_.push_back(Tensor::zeros(p.value.shape()));
      mu_.push_back(Tensor::zeros(p.value.shape()));
    }
  for (size_t i = 0; i < params.size(); ++i) {
    const float* th = params[i].value.data();
    const float* fi = f[i].data();
    float *a = a_[i].data(), *mu = mu_[i].data();
    for (int64_t k = 0; k < f[i].numel(); ++k) {
      const double sum = static_cast<double>(a[k]) + fi[k];
      if (sum <= 0) {  // no curvature yet: the anchor does not matter
        mu[k] = th[k];
        continue;
      }
      const double d = static_cast<double>(mu[k]) - th[k];
      constant_ += static_cast<double>(a[k]) * fi[k] / sum * d * d;
      mu[k] = static_cast<float>((static_cast<double>(a[k]) * mu[k] + static_cast<double>(fi[k]) * th[k]) / sum);
      a[k] = static_cast<float>(sum);
    }
  }
  ++tasks_;
  log_info("ewc: Fisher of task ", tasks_, " from ", sample.size(), " samples; penalty λ = ", options_.lambda);
}

double EwcStrategy::penalty(const LlamaModel& model) const {
  if (tasks_ == 0) return 0;
  double sum = constant_;
  const auto& params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const float* th = params[i].value.data();
    const float *a = a_[i].data(), *mu = mu_[i].data();
    for (int64_t k = 0; k < a_[i].numel(); ++k) {
      const double d = static_cast<double>(th[k]) - mu[k];
      sum += static_cast<double>(a[k]) * d * d;
    }
  }
  return 0.5 * options_.lambda * sum;
}

void EwcStrategy::on_gradients(LlamaModel& model, Gradients& grads) {
  if (tasks_ == 0) return;
  const auto& params = model.parameters();
  const auto lambda = static_cast<float>(options_.lambda);
  for (size_t i = 0; i < params.size(); ++i) {
    const float* th = params[i].value.data();
    const float *a = a_[i].data(), *mu = mu_[i].data();
    float* g = grads.table()[i].value.data();
    for (int64_t k = 0; k < a_[i].numel(); ++k) g[k] += lambda * a[k] * (th[k] - mu[k]);
  }
  last_penalty_ = penalty(model);
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
