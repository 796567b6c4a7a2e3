// Llama-family weights (llama, mistral, qwen2) as a table of named parameters under their
// Hugging Face names, with typed views for the forward pass. The table is what optimizers,
// checkpoints and continual-learning strategies iterate over.
#pragma once
#include <string>
#include <vector>

#include "sculpt/core/rng.h"
#include "sculpt/core/tensor.h"
#include "sculpt/core/dtype.h"
#include "sculpt/io/model_config.h"

namespace sculpt {

struct Parameter {
  std::string name;  // HF name, e.g. "model.layers.0.mlp.up_proj.weight"
  Tensor value;
};

struct LayerWeights {
  Tensor attn_norm;  // (D,)
  Tensor wq;         // (n_heads*hd, D)
  Tensor wk, wv;     // (n_kv*hd, D)
  Tensor wo;         // (D, n_heads*hd)
  Tensor bq;         // (n_heads*hd,) or empty
  Tensor bk, bv;     // (n_kv*hd,) or empty
  Tensor bo;         // (D,) or empty
  Tensor mlp_norm;   // (D,)
  Tensor w_gate;     // (F, D)
  Tensor w_up;       // (F, D)
  Tensor w_down;     // (D, F)
  Tensor b_gate, b_up, b_down;  // (F,), (F,), (D,) or empty
};

struct ParameterSpec {
  std::string name;
  Shape shape;
};

// Every parameter the config implies, in checkpoint order. A tied head has no lm_head entry.
std::vector<ParameterSpec> parameter_specs(const ModelConfig& config);

// The tensor named `name` in `table`, or nullptr.
Tensor* find_parameter(std::vector<Parameter>& table, const std::string& name);

// Each layer's tensors in `table` (HF names), bound once: the copies alias the table's storage.
// Absent biases are empty tensors; an absent weight is an Error. The model binds its weights this
// way, and Gradients its gradients, so the training step never looks a tensor up by name.
std::vector<LayerWeights> bind_layers(std::vector<Parameter>& table, int64_t num_layers);

class LlamaModel {
 public:
  // Zero-filled parameters for `config`.
  explicit LlamaModel(const ModelConfig& config);

  const ModelConfig& config() const { return config_; }
  std::vector<Parameter>& parameters() { return params_; }
  const std::vector<Parameter>& parameters() const { return params_; }
  // Every parameter in one buffer (core/flat_tensors.h): parameters()[i] views flat() at
  // flat_layout(shapes).offsets[i].
  const Tensor& flat() const { return flat_; }
  Tensor& flat() { return flat_; }
  Tensor& parameter(const std::string& name);
  const Tensor& parameter(const std::string& name) const;

  const Tensor& embed() const { return embed_; }            // (V, D)
  const LayerWeights& layer(int64_t l) const { return layers_[l]; }
  const Tensor& final_norm() const { return final_norm_; }  // (D,)
  const Tensor& lm_head() const { return lm_head_; }        // (V, D); aliases embed() when tied

  // Dtype the weights were stored in (kept for export).
  DType source_dtype = DType::f32;

 private:
  ModelConfig config_;
  Tensor flat_;  // (Σ numel + gaps,)
  std::vector<Parameter> params_;
  Tensor embed_, final_norm_, lm_head_;
  std::vector<LayerWeights> layers_;
};

// Loads a Hugging Face directory (config.json + safetensors, single or sharded), a llama.cpp GGUF
// file (llama, mistral, qwen2; dequantized to fp32) or a llama2.c .bin file. Errors name the file
// and tensor and say what to check.
LlamaModel load_model(const std::string& path);
bool is_llama2c_checkpoint(const std::string& path);
bool is_gguf_model(const std::string& path);  // a regular file with GGUF's magic

// Random initialisation as in HF (normal(0, initializer_range) for matrices, ones for norms,
// zeros for biases).
void init_random(LlamaModel& model, Rng& rng, float stddev = 0.02f);

// Writes config.json and safetensors (sharded above `max_shard_bytes`) into `dir`.
void save_model_hf(const LlamaModel& model, const std::string& dir, DType dtype = DType::f32,
                   uint64_t max_shard_bytes = 2ull << 30);

}  // namespace sculpt
