#include "sculpt/cl/lora.h"

#include <cmath>
#include <filesystem>

#include "sculpt/cl/osft/targets.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/rng.h"
#include "sculpt/io/safetensors.h"

namespace sculpt {

namespace fs = std::filesystem;

const char* lora_variant_name(LoraVariant variant) {
  switch (variant) {
    case LoraVariant::seqlora: return "seqlora";
    case LoraVariant::inclora: return "inclora";
    case LoraVariant::olora: return "olora";
  }
  return "?";
}

LoraStrategy::LoraStrategy(LoraOptions options) : options_(std::move(options)) {
  check(options_.rank > 0, "LoRA rank must be positive", "--lora-rank", "choose e.g. 8");
  check(options_.dropout == 0, "LoRA dropout is not supported (adapters are trained merged)", "--lora-dropout",
        "use --lora-dropout 0");
  if (options_.target_patterns.empty()) options_.target_patterns = {"q_proj", "v_proj"};
}

namespace {
// A ~ U(−1/√m, 1/√m), drawn on the host (one seeded stream whatever the device) and copied to a's.
void init_a(Backend& backend, Tensor& a, int64_t m, Rng& rng) {
  const float bound = 1.f / std::sqrt(static_cast<float>(m));
  Tensor host = Tensor::zeros(a.shape());
  for (int64_t j = 0; j < host.numel(); ++j) host[j] = (2.f * rng.uniform() - 1.f) * bound;
  backend.copy(host, a);
}
}  // namespace

void LoraStrategy::make_optimizer(const AdamW& like) {
  std::vector<Parameter> params;
  for (auto& ad : adapters_) {
    params.push_back({"a." + std::to_string(ad.index), ad.a});
    params.push_back({"b." + std::to_string(ad.index), ad.b});
  }
  adam_ = std::make_unique<AdamW>(params, like.options());
}

void LoraStrategy::merge_into(LlamaModel& model) const {
  const float s = scale();
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < adapters_.size(); ++i) {
    const Adapter& ad = adapters_[i];
    Tensor& w = model.parameters()[ad.index].value;  // W = W_base + s·B A
    backend_.copy(ad.w_base, w);
    backend_.matmul(ad.b, Trans::no, ad.a, Trans::no, w, s, 1.f);
  }
}

MemoryLine LoraStrategy::planned_memory(const ModelConfig& config, int64_t /*seq*/, int /*threads*/) const {
  const auto specs = parameter_specs(config);
  const int64_t r = options_.rank;
  int64_t floats = 0, targets = 0;
  for (size_t i : select_targets(specs, config.model_type, options_.target_patterns)) {
    const int64_t n = specs[i].shape[0], m = specs[i].shape[1];
    // W_base; A, B with their gradients and moments; O-LoRA's earlier A of every finished task.
    floats += n * m + 4 * r * (n + m) + (options_.variant == LoraVariant::olora ? tasks_started_ * r * m : 0);
    ++targets;
  }
  return {name() + " state", floats * 4,
          std::to_string(targets) + " adapters of rank " + std::to_string(r) + " and their base weights"};
}

void LoraStrategy::begin_task(LlamaModel& model, AdamW& optimizer) {
  auto& params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i) optimizer.set_rule(i, {false, 1.f, -1.f});  // the base is frozen
  Rng rng(options_.seed * 31 + static_cast<uint64_t>(tasks_started_) + 1);
  const int64_t r = options_.rank;
  if (adapters_.empty()) {
    for (size_t index : select_targets(model, options_.target_patterns)) {
      const Tensor& w = params[index].value;
      Adapter ad;
      ad.index = index;
      ad.n = w.shape()[0], ad.m = w.shape()[1];
      ad.w_base = device_copy(backend_, w);
      ad.a = backend_.zeros({r, ad.m}, DType::f32);
      ad.b = backend_.zeros({ad.n, r}, DType::f32);
      ad.da = backend_.zeros({r, ad.m}, DType::f32);
      ad.db = backend_.zeros({ad.n, r}, DType::f32);
      init_a(backend_, ad.a, ad.m, rng);
      adapters_.push_back(std::move(ad));
    }
  } else if (options_.variant != LoraVariant::seqlora) {
    // A new adapter: the finished one is merged into the base (frozen); O-LoRA remembers its A.
    for (auto& ad : adapters_) {
      backend_.copy(params[ad.index].value, ad.w_base);
      if (options_.variant == LoraVariant::olora) ad.previous_a.push_back(device_copy(backend_, ad.a));
      init_a(backend_, ad.a, ad.m, rng);
      backend_.fill(ad.b, 0.f);
    }
  }
  make_optimizer(optimizer);
  merge_into(model);
  ++tasks_started_;
  log_info(name(), ": ", adapters_.size(), " adapters of rank ", r, " (alpha ", options_.alpha, "), task ",
           tasks_started_, options_.variant == LoraVariant::olora && !adapters_.empty()
                               ? ", orthogonal to " + std::to_string(adapters_[0].previous_a.size()) + " earlier"
                               : std::string());
}

double LoraStrategy::orthogonality() const {
  double sum = 0;
  const int64_t r = options_.rank;
  Tensor prod = backend_.zeros({r, r}, DType::f32), host = Tensor::zeros({r, r});  // A_t A_iᵀ
  for (const auto& ad : adapters_)
    for (const auto& prev : ad.previous_a) {
      backend_.matmul(ad.a, Trans::no, prev, Trans::yes, prod, 1.f, 0.f);
      backend_.copy(prod, host);
      for (int64_t j = 0; j < host.numel(); ++j) sum += std::fabs(static_cast<double>(host[j]));
    }
  return sum;
}

void LoraStrategy::on_gradients(LlamaModel& model, Gradients& grads) {
  const float s = scale();
  const int64_t r = options_.rank;
  const auto l1 = static_cast<float>(options_.lambda1), l2 = static_cast<float>(options_.lambda2);
  const bool olora = options_.variant == LoraVariant::olora;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < adapters_.size(); ++i) {
    Adapter& ad = adapters_[i];
    const Tensor& g = grads.table()[ad.index].value;  // (N, M)
    // dA = s Bᵀ G (r×M), dB = s G Aᵀ (N×r)
    backend_.matmul(ad.b, Trans::yes, g, Trans::no, ad.da, s, 0.f);
    backend_.matmul(g, Trans::no, ad.a, Trans::yes, ad.db, s, 0.f);
    if (olora) {
      Tensor sign = backend_.zeros({r, r}, DType::f32);  // (r, r)
      for (const auto& prev : ad.previous_a) {
        // M = A_t A_iᵀ (r×r); ∂Σ|M|/∂A_t = sign(M) A_i. The r×r signs are taken on the host.
        backend_.matmul(ad.a, Trans::no, prev, Trans::yes, sign, 1.f, 0.f);
        Tensor host = host_copy(backend_, sign);
        for (int64_t j = 0; j < host.numel(); ++j) host[j] = static_cast<float>((host[j] > 0.f) - (host[j] < 0.f));
        backend_.copy(host, sign);
        backend_.matmul(sign, Trans::no, prev, Trans::no, ad.da, l1, 1.f);
      }
      if (l2 != 0.f) {
        backend_.axpy(ad.da, ad.a, 2.f * l2);
        backend_.axpy(ad.db, ad.b, 2.f * l2);
      }
    }
  }
  if (olora) last_orthogonality_ = orthogonality();
  grads.zero();  // the base is frozen: only the adapters' gradients count (and are clipped)
}

double LoraStrategy::extra_grad_norm_sq() const {
  double sum = 0;
  for (const auto& ad : adapters_) sum += backend_.sum_of_squares(ad.da) + backend_.sum_of_squares(ad.db);
  return sum;
}

void LoraStrategy::after_step(LlamaModel& model, Gradients& /*grads*/, float lr, float clip_scale, bool /*measure*/) {
  adam_->begin_step();
  for (size_t i = 0; i < adapters_.size(); ++i) {
    Adapter& ad = adapters_[i];
    adam_->update(2 * i, ad.a, ad.da, lr, clip_scale);
    adam_->update(2 * i + 1, ad.b, ad.db, lr, clip_scale);
  }
  merge_into(model);
}

std::vector<std::pair<std::string, double>> LoraStrategy::step_metrics() const {
  if (options_.variant != LoraVariant::olora || adapters_.empty() || adapters_[0].previous_a.empty()) return {};
  return {{"olora_orthogonality", last_orthogonality_}};
}

void LoraStrategy::save_state(const std::string& dir) const {
  fs::create_directories(dir);
  std::vector<TensorToWrite> t;
  for (size_t i = 0; i < adapters_.size(); ++i) {
    const auto& ad = adapters_[i];
    const std::string id = std::to_string(ad.index);
    t.push_back({"w_base." + id, &ad.w_base});
    t.push_back({"a." + id, &ad.a});
    t.push_back({"b." + id, &ad.b});
    if (adam_) {
      t.push_back({"m.a." + id, &adam_->first_moments()[2 * i]});
      t.push_back({"v.a." + id, &adam_->second_moments()[2 * i]});
      t.push_back({"m.b." + id, &adam_->first_moments()[2 * i + 1]});
      t.push_back({"v.b." + id, &adam_->second_moments()[2 * i + 1]});
    }
    for (size_t p = 0; p < ad.previous_a.size(); ++p) t.push_back({"prev." + std::to_string(p) + "." + id, &ad.previous_a[p]});
  }
  write_safetensors(confined_path(dir, "lora_state.safetensors", dir), t,
                    {{"tasks_started", std::to_string(tasks_started_)},
                     {"adam_steps", std::to_string(adam_ ? adam_->step_count() : 0)},
                     {"indices", [&] {
                        std::string s;
                        for (const auto& ad : adapters_) s += std::to_string(ad.index) + ",";
                        return s;
                      }()}});
}

void LoraStrategy::load_between_tasks(const std::string& dir) {
  const std::string path = confined_path(dir, "lora_state.safetensors", dir);
  check(fs::exists(path), "LoRA state is missing", path, "the run directory is incomplete; start the method again");
  SafetensorsFile f(path);
  tasks_started_ = std::stoll(f.metadata().at("tasks_started"));
  adapters_.clear();
  const std::string indices = f.metadata().at("indices");
  for (size_t start = 0; start < indices.size();) {
    const size_t comma = indices.find(',', start);
    Adapter ad;
    ad.index = std::stoul(indices.substr(start, comma - start));
    start = comma + 1;
    const std::string id = std::to_string(ad.index);
    ad.w_base = f.read_f32("w_base." + id);
    ad.a = f.read_f32("a." + id);
    ad.b = f.read_f32("b." + id);
    ad.n = ad.w_base.shape()[0], ad.m = ad.w_base.shape()[1];
    ad.da = backend_.zeros(ad.a.shape(), DType::f32);
    ad.db = backend_.zeros(ad.b.shape(), DType::f32);
    for (size_t p = 0; f.has("prev." + std::to_string(p) + "." + id); ++p)
      ad.previous_a.push_back(f.read_f32("prev." + std::to_string(p) + "." + id));
    adapters_.push_back(std::move(ad));
  }
}

void LoraStrategy::load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) {
  load_between_tasks(dir);
  for (size_t i = 0; i < model.parameters().size(); ++i) optimizer.set_rule(i, {false, 1.f, -1.f});
  make_optimizer(optimizer);
  SafetensorsFile f(confined_path(dir, "lora_state.safetensors", dir));
  for (size_t i = 0; i < adapters_.size(); ++i) {
    const std::string id = std::to_string(adapters_[i].index);
    if (!f.has("m.a." + id)) continue;
    adam_->first_moments()[2 * i].copy_from(f.read_f32("m.a." + id));
    adam_->second_moments()[2 * i].copy_from(f.read_f32("v.a." + id));
    adam_->first_moments()[2 * i + 1].copy_from(f.read_f32("m.b." + id));
    adam_->second_moments()[2 * i + 1].copy_from(f.read_f32("v.b." + id));
  }
  adam_->set_step_count(std::stoll(f.metadata().at("adam_steps")));
  merge_into(model);
}

}  // namespace sculpt
