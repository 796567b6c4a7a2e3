// The architecture hyper-parameters of a Llama-family model, read from HF config.json
// (model_type llama, mistral, qwen2) or from a llama2.c .bin header.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sculpt {

struct RopeScaling {
  std::string type;  // "" (none), "llama3" or "linear"
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type = "llama";  // llama | mistral | qwen2
  int64_t hidden_size = 0;           // dim
  int64_t intermediate_size = 0;     // SwiGLU hidden width
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;              // defaults to hidden_size / num_heads
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;             // bias on q, k, v projections (qwen2; llama attention_bias)
  bool o_bias = false;               // bias on the output projection (llama attention_bias)
  bool mlp_bias = false;
  int64_t sliding_window = 0;        // 0: full causal attention
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  std::string torch_dtype = "float32";

  int64_t q_dim() const { return num_heads * head_dim; }
  int64_t kv_dim() const { return num_kv_heads * head_dim; }
  int64_t parameter_count() const;
  // Throws Error naming `source` when sizes are missing, non-positive or inconsistent.
  void validate(const std::string& source) const;
};

// A config.json key and how sculpt accounts for it: read into ModelConfig, accepted only at the
// value that leaves the forward pass unchanged (neutral), or without effect on the forward pass.
// read_hf_config refuses every key that is not listed.
struct HfConfigField {
  enum class Kind { read, neutral, no_effect };
  const char* name;
  Kind kind;
  const char* note;  // the values read, the neutral value, or why the field has no effect
};
const std::vector<HfConfigField>& hf_config_fields();

// Parses a Hugging Face config.json.
ModelConfig read_hf_config(const std::string& path);
// Writes config.json in the layout transformers expects for this model_type.
std::string hf_config_json(const ModelConfig& config);

}  // namespace sculpt
