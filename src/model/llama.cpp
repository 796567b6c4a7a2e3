#include "sculpt/model/llama.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/core/flat_tensors.h"
#include "sculpt/io/gguf.h"
#include "sculpt/io/gguf_llama.h"
#include "sculpt/io/llama2c.h"
#include "sculpt/io/safetensors.h"

namespace sculpt {

namespace fs = std::filesystem;

namespace {
std::string layer_prefix(int64_t l) { return "model.layers." + std::to_string(l) + "."; }
}  // namespace

std::vector<ParameterSpec> parameter_specs(const ModelConfig& c) {
  const int64_t D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size, Q = c.q_dim(), KV = c.kv_dim();
  std::vector<ParameterSpec> specs{{"model.embed_tokens.weight", {V, D}}};
  for (int64_t l = 0; l < c.num_layers; ++l) {
    const std::string p = layer_prefix(l);
    specs.push_back({p + "input_layernorm.weight", {D}});
    specs.push_back({p + "self_attn.q_proj.weight", {Q, D}});
    specs.push_back({p + "self_attn.k_proj.weight", {KV, D}});
    specs.push_back({p + "self_attn.v_proj.weight", {KV, D}});
    if (c.qkv_bias) {
      specs.push_back({p + "self_attn.q_proj.bias", {Q}});
      specs.push_back({p + "self_attn.k_proj.bias", {KV}});
      specs.push_back({p + "self_attn.v_proj.bias", {KV}});
    }
    specs.push_back({p + "self_attn.o_proj.weight", {D, Q}});
    if (c.o_bias) specs.push_back({p + "self_attn.o_proj.bias", {D}});
    specs.push_back({p + "post_attention_layernorm.weight", {D}});
    specs.push_back({p + "mlp.gate_proj.weight", {F, D}});
    specs.push_back({p + "mlp.up_proj.weight", {F, D}});
    specs.push_back({p + "mlp.down_proj.weight", {D, F}});
    if (c.mlp_bias) {
      specs.push_back({p + "mlp.gate_proj.bias", {F}});
      specs.push_back({p + "mlp.up_proj.bias", {F}});
      specs.push_back({p + "mlp.down_proj.bias", {D}});
    }
  }
  specs.push_back({"model.norm.weight", {D}});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {V, D}});
  return specs;
}

LlamaModel::LlamaModel(const ModelConfig& config) : config_(config) {
  config_.validate("model config");
  const auto specs = parameter_specs(config_);
  std::vector<Shape> shapes;
  for (const auto& spec : specs) shapes.push_back(spec.shape);
  FlatTensors flat = allocate_flat(shapes);
  flat_ = flat.whole;
  for (size_t i = 0; i < specs.size(); ++i) params_.push_back({specs[i].name, flat.views[i]});
  embed_ = parameter("model.embed_tokens.weight");
  final_norm_ = parameter("model.norm.weight");
  lm_head_ = config_.tie_word_embeddings ? embed_ : parameter("lm_head.weight");
  layers_ = bind_layers(params_, config_.num_layers);
}

Tensor* find_parameter(std::vector<Parameter>& table, const std::string& name) {
  for (auto& p : table)
    if (p.name == name) return &p.value;
  return nullptr;
}

std::vector<LayerWeights> bind_layers(std::vector<Parameter>& table, int64_t num_layers) {
  auto required = [&](const std::string& name) {
    if (Tensor* t = find_parameter(table, name)) return *t;
    throw Error("no parameter named '" + name + "'", "model");
  };
  auto optional = [&](const std::string& name) {
    Tensor* t = find_parameter(table, name);
    return t ? *t : Tensor();
  };
  std::vector<LayerWeights> layers;
  for (int64_t l = 0; l < num_layers; ++l) {
    const std::string p = layer_prefix(l);
    LayerWeights w;
    w.attn_norm = required(p + "input_layernorm.weight");
    w.wq = required(p + "self_attn.q_proj.weight");
    w.wk = required(p + "self_attn.k_proj.weight");
    w.wv = required(p + "self_attn.v_proj.weight");
    w.wo = required(p + "self_attn.o_proj.weight");
    w.bq = optional(p + "self_attn.q_proj.bias");
    w.bk = optional(p + "self_attn.k_proj.bias");
    w.bv = optional(p + "self_attn.v_proj.bias");
    w.bo = optional(p + "self_attn.o_proj.bias");
    w.mlp_norm = required(p + "post_attention_layernorm.weight");
    w.w_gate = required(p + "mlp.gate_proj.weight");
    w.w_up = required(p + "mlp.up_proj.weight");
    w.w_down = required(p + "mlp.down_proj.weight");
    w.b_gate = optional(p + "mlp.gate_proj.bias");
    w.b_up = optional(p + "mlp.up_proj.bias");
    w.b_down = optional(p + "mlp.down_proj.bias");
    layers.push_back(w);
  }
  return layers;
}

Tensor& LlamaModel::parameter(const std::string& name) {
  if (Tensor* t = find_parameter(params_, name)) return *t;
  throw Error("no parameter named '" + name + "'", "model");
}

const Tensor& LlamaModel::parameter(const std::string& name) const {
  return const_cast<LlamaModel*>(this)->parameter(name);
}

bool is_llama2c_checkpoint(const std::string& path) {
  return fs::is_regular_file(path) && fs::path(path).extension() == ".bin";
}

namespace {
void check_finite(const Tensor& t, const std::string& name, const std::string& file) {
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(t[i]))
      throw Error("tensor '" + name + "' holds a non-finite value (" + std::to_string(t[i]) + ") at element " +
                      std::to_string(i),
                  file, "the checkpoint is corrupt or was saved after training diverged");
}

// What the config would need, for errors about weights that do not match it.
std::string config_size(const ModelConfig& c) {
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f GiB", static_cast<double>(c.parameter_count()) * 4 / (1 << 30));
  return std::to_string(c.parameter_count()) + " parameters, " + gib + " in fp32";
}

LlamaModel load_hf_directory(const std::string& dir) {
  const std::string config_path = confined_path(dir, "config.json", dir);
  check(fs::exists(config_path), "no config.json", dir,
        "point --model at a Hugging Face model directory (config.json + *.safetensors) or a llama2.c .bin");
  const ModelConfig config = read_hf_config(config_path);
  config.validate(config_path);
  TensorStore store(dir);
  // Every shape is checked on the headers before the model is allocated: a config that claims a
  // far larger model than its weights is refused at once, not after gigabytes of zero-filling.
  for (const ParameterSpec& p : parameter_specs(config)) {
    if (!store.has(p.name)) {
      // Some tied checkpoints still carry lm_head; untied ones must.
      throw Error("tensor '" + p.name + "' is missing", store.description(),
                  "the checkpoint does not match config.json (layers, biases, tie_word_embeddings), which describes " +
                      config_size(config));
    }
    const TensorInfo& info = store.info(p.name);
    if (info.shape != p.shape)
      throw Error("tensor '" + p.name + "' has shape " + shape_to_string(info.shape) + " but config.json implies " +
                      shape_to_string(p.shape),
                  store.file_of(p.name), "the checkpoint does not match config.json, which describes " + config_size(config));
    check(dtype_is_float(info.dtype), "tensor '" + p.name + "' has non-float dtype " + dtype_name(info.dtype),
          store.file_of(p.name));
  }
  LlamaModel model(config);
  bool dtype_seen = false;
  for (auto& p : model.parameters()) {
    const TensorInfo& info = store.info(p.name);
    Tensor loaded = store.read_f32(p.name);
    check_finite(loaded, p.name, store.file_of(p.name));
    p.value.copy_from(loaded);
    if (!dtype_seen) model.source_dtype = info.dtype, dtype_seen = true;
  }
  return model;
}

LlamaModel load_llama2c_file(const std::string& path) {
  Llama2cCheckpoint ckpt = read_llama2c(path);
  LlamaModel model(ckpt.config);
  for (auto& p : model.parameters()) {
    auto it = ckpt.tensors.find(p.name);
    check(it != ckpt.tensors.end(), "tensor '" + p.name + "' is missing", path);
    check_finite(it->second, p.name, path);
    p.value.copy_from(it->second);
  }
  return model;
}
// A llama.cpp GGUF file: every tensor dequantized to fp32 (the weights sculpt trains), under its
// Hugging Face name, with the converter's q/k row permutation undone.
LlamaModel load_gguf_file(const std::string& path) {
  GgufFile file(path);
  const ModelConfig c = gguf_model_config(file);
  c.validate(path);
  // Shapes first (headers only), then the allocation, as for safetensors.
  std::set<std::string> expected;
  for (const ParameterSpec& p : parameter_specs(c)) {
    const std::string name = gguf_tensor_name(p.name);
    expected.insert(name);
    const GgufTensorInfo* info = file.find_tensor(name);
    if (!info)
      throw Error("tensor '" + name + "' is missing", path,
                  "the file's tensors do not match its " + c.model_type + " metadata (block_count, biases), which describes " +
                      config_size(c));
    if (info->shape() != p.shape)
      throw Error("tensor '" + name + "' has shape " + shape_to_string(info->shape()) + " but the metadata implies " +
                      shape_to_string(p.shape),
                  path, "the file's tensors do not match its metadata, which describes " + config_size(c));
  }
  for (const auto& t : file.tensors())
    if (!expected.count(t.name))
      throw Error("tensor '" + t.name + "' is not part of a " + c.model_type + " model with this metadata", path,
                  "the file holds parts sculpt does not implement; it reads llama, mistral and qwen2 models");
  LlamaModel model(c);
  for (auto& p : model.parameters()) {
    const std::string name = gguf_tensor_name(p.name);
    const GgufTensorInfo* info = file.find_tensor(name);
    Tensor loaded = file.read_f32(*info);
    check_finite(loaded, name, path);
    if (gguf_rows_permuted(c, p.name)) gguf_unpermute_rows(loaded, c.head_dim);
    p.value.copy_from(loaded);
  }
  return model;
}
}  // namespace

bool is_gguf_model(const std::string& path) { return fs::is_regular_file(path) && is_gguf_file(path); }

LlamaModel load_model(const std::string& path) {
  check(fs::exists(path), "no such file or directory", path, "check the --model path");
  if (is_gguf_model(path)) return load_gguf_file(path);
  if (is_llama2c_checkpoint(path)) return load_llama2c_file(path);
  if (fs::is_directory(path)) return load_hf_directory(path);
  if (fs::path(path).extension() == ".safetensors") return load_hf_directory(fs::path(path).parent_path().string());
  throw Error("unrecognised model path", path,
              "expected a Hugging Face directory, a .safetensors file next to config.json, a GGUF file or a llama2.c .bin");
}

void init_random(LlamaModel& model, Rng& rng, float stddev) {
  for (auto& p : model.parameters()) {
    const bool is_norm = p.name.find("norm.weight") != std::string::npos;
    const bool is_bias = p.name.size() >= 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
    for (int64_t i = 0; i < p.value.numel(); ++i)
      p.value[i] = is_norm ? 1.f : is_bias ? 0.f : rng.normal(0.f, stddev);
  }
}

void save_model_hf(const LlamaModel& model, const std::string& dir, DType dtype, uint64_t max_shard_bytes) {
  fs::create_directories(dir);
  std::vector<TensorToWrite> tensors;
  for (const auto& p : model.parameters()) tensors.push_back({p.name, &p.value, dtype});
  write_checkpoint_shards(dir, tensors, max_shard_bytes);
  ModelConfig c = model.config();
  c.torch_dtype = dtype == DType::bf16 ? "bfloat16" : dtype == DType::f16 ? "float16" : "float32";
  write_text_atomic((fs::path(dir) / "config.json").string(), hf_config_json(c));
}

}  // namespace sculpt
