#include "sculpt/io/model_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "config_fields.h"

namespace sculpt {

using json = nlohmann::json;

int64_t ModelConfig::parameter_count() const {
  int64_t attn = hidden_size * q_dim() + 2 * hidden_size * kv_dim() + q_dim() * hidden_size;
  if (qkv_bias) attn += q_dim() + 2 * kv_dim();
  if (o_bias) attn += hidden_size;
  int64_t mlp = 3 * hidden_size * intermediate_size + (mlp_bias ? 2 * intermediate_size + hidden_size : 0);
  int64_t per_layer = attn + mlp + 2 * hidden_size;
  int64_t embed = vocab_size * hidden_size;
  return num_layers * per_layer + embed + hidden_size + (tie_word_embeddings ? 0 : embed);
}

void ModelConfig::validate(const std::string& source) const {
  auto positive = [&](int64_t v, const char* name) {
    check(v > 0, std::string(name) + " must be positive, got " + std::to_string(v), source,
          "fix the value in the model config");
  };
  positive(hidden_size, "hidden_size");
  positive(intermediate_size, "intermediate_size");
  positive(num_layers, "num_hidden_layers");
  positive(num_heads, "num_attention_heads");
  positive(num_kv_heads, "num_key_value_heads");
  positive(head_dim, "head_dim");
  positive(vocab_size, "vocab_size");
  // Untrusted configs: sizes whose products would overflow int64 are refused here, so every
  // later count (parameters, bytes, the memory plan) is exact.
  const double dims[] = {double(hidden_size), double(intermediate_size), double(num_heads) * double(head_dim),
                         double(vocab_size)};
  double widest = 0;
  for (double d : dims) widest = std::max(widest, d);
  check(widest * widest * 8.0 * double(num_layers + 2) < 0x1p50 && double(num_heads) * double(head_dim) < 0x1p31,
        "the sizes describe more than 2^47 parameters (num_hidden_layers " + std::to_string(num_layers) +
            ", widest dimension " + std::to_string(static_cast<long long>(widest)) + ")",
        source, "fix the sizes in the model config; no machine holds such a model");
  check(num_heads % num_kv_heads == 0,
        "num_attention_heads (" + std::to_string(num_heads) + ") is not a multiple of num_key_value_heads (" +
            std::to_string(num_kv_heads) + ")",
        source, "grouped-query attention needs whole groups");
  check(head_dim % 2 == 0, "head_dim must be even for rotary embeddings, got " + std::to_string(head_dim), source);
  check(rms_norm_eps > 0, "rms_norm_eps must be positive", source);
  check(rope_theta > 0, "rope_theta must be positive", source);
}

namespace {
template <typename T>
T get_or(const json& j, const char* key, T fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return j[key].get<T>();
}

int64_t token_id(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return -1;
  if (j[key].is_array()) return j[key].empty() ? -1 : j[key][0].get<int64_t>();  // first of several eos ids
  return j[key].get<int64_t>();
}
}  // namespace

namespace {
// The attention kind of every layer must be one: full, or the sliding window the config sets.
void check_layer_types(const json& j, const ModelConfig& c, const std::string& path) {
  if (!j.contains("layer_types") || !j["layer_types"].is_array()) return;
  const std::string want = c.sliding_window > 0 ? "sliding_attention" : "full_attention";
  for (const auto& t : j["layer_types"])
    if (!t.is_string() || t.get<std::string>() != want)
      throw Error("config field 'layer_types' = " + j["layer_types"].dump() + " is not supported", path,
                  "every layer must be " + want + " (sliding_window " + std::to_string(c.sliding_window) +
                      "); mixed attention layers are not supported");
}
}  // namespace

ModelConfig read_hf_config(const std::string& path) {
  json j = json::parse(read_text_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error("not a JSON object", path, "config.json is corrupt");
  ModelConfig c;
  try {
    c.model_type = get_or<std::string>(j, "model_type", "");
    if (c.model_type != "llama" && c.model_type != "mistral" && c.model_type != "qwen2")
      throw Error("unsupported model_type '" + c.model_type + "'", path,
                  "sculpt supports the Llama family: llama, mistral, qwen2");
    for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                            "vocab_size"})
      if (!j.contains(key) || !j[key].is_number_integer())
        throw Error(std::string("missing or non-integer field '") + key + "'", path,
                    "config.json must describe the architecture");
    c.hidden_size = j["hidden_size"].get<int64_t>();
    c.intermediate_size = j["intermediate_size"].get<int64_t>();
    c.num_layers = j["num_hidden_layers"].get<int64_t>();
    c.num_heads = j["num_attention_heads"].get<int64_t>();
    c.num_kv_heads = get_or<int64_t>(j, "num_key_value_heads", c.num_heads);
    c.vocab_size = j["vocab_size"].get<int64_t>();
    c.head_dim = get_or<int64_t>(j, "head_dim", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
    if (!j.contains("head_dim") && c.num_heads > 0 && c.hidden_size % c.num_heads != 0)
      throw Error("hidden_size (" + std::to_string(c.hidden_size) + ") is not divisible by num_attention_heads (" +
                      std::to_string(c.num_heads) + ")",
                  path, "set head_dim explicitly or fix the sizes");
    c.max_position_embeddings = get_or<int64_t>(j, "max_position_embeddings", 2048);
    c.rms_norm_eps = get_or<double>(j, "rms_norm_eps", 1e-6);
    // transformers >= 5 writes rope_parameters {rope_theta, rope_type, factor, ...}; 4.x wrote
    // rope_theta and rope_scaling at the top level. Both are read, the newer one first.
    const bool rope_parameters = j.contains("rope_parameters") && j["rope_parameters"].is_object();
    const json& rope = rope_parameters ? j["rope_parameters"] : j;
    c.rope_theta = get_or<double>(rope, "rope_theta", get_or<double>(j, "rope_theta", 10000.0));
    c.tie_word_embeddings = get_or<bool>(j, "tie_word_embeddings", false);
    if (c.model_type == "qwen2") {
      c.qkv_bias = true;  // Qwen2 always has q/k/v biases and no output bias
    } else {
      c.qkv_bias = c.o_bias = get_or<bool>(j, "attention_bias", false);
    }
    c.mlp_bias = get_or<bool>(j, "mlp_bias", false);
    bool sliding = c.model_type == "mistral" || get_or<bool>(j, "use_sliding_window", false);
    if (sliding && c.model_type == "qwen2") {
      // Qwen2 slides only in layers at or above max_window_layers (transformers' default 28).
      const int64_t full_layers = get_or<int64_t>(j, "max_window_layers", 28);
      if (full_layers >= c.num_layers) sliding = false;
      else if (full_layers > 0)
        throw Error("config field 'max_window_layers' = " + std::to_string(full_layers) + " is not supported", path,
                    "with use_sliding_window, either every layer slides (0) or none (>= num_hidden_layers); "
                    "mixed attention layers are not supported");
    }
    if (sliding) c.sliding_window = get_or<int64_t>(j, "sliding_window", 0);
    c.bos_token_id = token_id(j, "bos_token_id");
    c.eos_token_id = token_id(j, "eos_token_id");
    c.torch_dtype = get_or<std::string>(j, "dtype", get_or<std::string>(j, "torch_dtype", "float32"));  // 5.x, 4.x
    check_hf_config_fields(j, path);
    check_layer_types(j, c, path);
    std::string act = get_or<std::string>(j, "hidden_act", "silu");
    if (act != "silu") throw Error("unsupported hidden_act '" + act + "'", path, "only SwiGLU (silu) is supported");
    const json* scaling = rope_parameters ? &j["rope_parameters"]
                          : j.contains("rope_scaling") && j["rope_scaling"].is_object() ? &j["rope_scaling"] : nullptr;
    if (scaling) {
      const json& rs = *scaling;
      c.rope_scaling.type = get_or<std::string>(rs, "rope_type", get_or<std::string>(rs, "type", ""));
      c.rope_scaling.factor = get_or<double>(rs, "factor", 1.0);
      c.rope_scaling.low_freq_factor = get_or<double>(rs, "low_freq_factor", 1.0);
      c.rope_scaling.high_freq_factor = get_or<double>(rs, "high_freq_factor", 4.0);
      c.rope_scaling.original_max_position_embeddings =
          get_or<int64_t>(rs, "original_max_position_embeddings", 8192);
      if (c.rope_scaling.type == "default") c.rope_scaling.type = "";
      if (!c.rope_scaling.type.empty() && c.rope_scaling.type != "llama3" && c.rope_scaling.type != "linear")
        throw Error("unsupported rope_scaling type '" + c.rope_scaling.type + "'", path,
                    "supported: llama3, linear");
    }
  } catch (const json::exception& e) {
    throw Error(std::string("a field has the wrong type: ") + e.what(), path, "check config.json against the HF schema");
  }
  c.validate(path);
  return c;
}

std::string hf_config_json(const ModelConfig& c) {
  json j;
  j["architectures"] = {c.model_type == "qwen2" ? "Qwen2ForCausalLM"
                        : c.model_type == "mistral" ? "MistralForCausalLM"
                                                    : "LlamaForCausalLM"};
  j["model_type"] = c.model_type;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_heads;
  j["num_key_value_heads"] = c.num_kv_heads;
  j["head_dim"] = c.head_dim;
  j["vocab_size"] = c.vocab_size;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["hidden_act"] = "silu";
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  if (c.model_type == "llama") {
    j["attention_bias"] = c.qkv_bias;
    j["mlp_bias"] = c.mlp_bias;
  }
  if (c.model_type == "mistral") j["sliding_window"] = c.sliding_window > 0 ? json(c.sliding_window) : json(nullptr);
  if (c.rope_scaling.type.empty()) {
    j["rope_scaling"] = nullptr;
  } else {
    j["rope_scaling"] = {{"rope_type", c.rope_scaling.type}, {"factor", c.rope_scaling.factor}};
    if (c.rope_scaling.type == "llama3") {
      j["rope_scaling"]["low_freq_factor"] = c.rope_scaling.low_freq_factor;
      j["rope_scaling"]["high_freq_factor"] = c.rope_scaling.high_freq_factor;
      j["rope_scaling"]["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
    }
  }
  j["bos_token_id"] = c.bos_token_id >= 0 ? json(c.bos_token_id) : json(nullptr);
  j["eos_token_id"] = c.eos_token_id >= 0 ? json(c.eos_token_id) : json(nullptr);
  j["torch_dtype"] = c.torch_dtype;
  j["use_cache"] = true;
  return j.dump(2) + "\n";
}

}  // namespace sculpt
