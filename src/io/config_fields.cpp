// Every config.json key accounted for: read into ModelConfig, checked for the one value sculpt
// implements, or on a list of fields that cannot change the forward pass. Anything else is
// refused by name, so that a field sculpt does not know never silently changes what the model
// computes. docs/config-fields.md is this table for users; a test keeps the two equal.
#include "config_fields.h"

#include <algorithm>
#include <string_view>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {

using Kind = HfConfigField::Kind;

const std::vector<HfConfigField> kFields = {
    // Read into ModelConfig (io/model_config.cpp).
    {"model_type", Kind::read, "llama, mistral or qwen2"},
    {"hidden_size", Kind::read, ""},
    {"intermediate_size", Kind::read, ""},
    {"num_hidden_layers", Kind::read, ""},
    {"num_attention_heads", Kind::read, ""},
    {"num_key_value_heads", Kind::read, "defaults to num_attention_heads"},
    {"head_dim", Kind::read, "defaults to hidden_size / num_attention_heads"},
    {"vocab_size", Kind::read, ""},
    {"max_position_embeddings", Kind::read, ""},
    {"rms_norm_eps", Kind::read, ""},
    {"rope_theta", Kind::read, "transformers 4.x"},
    {"rope_scaling", Kind::read, "transformers 4.x: none, default, linear or llama3"},
    {"rope_parameters", Kind::read, "transformers 5: rope_theta and the scaling, as rope_scaling"},
    {"tie_word_embeddings", Kind::read, ""},
    {"attention_bias", Kind::read, "llama: biases on q, k, v and o"},
    {"mlp_bias", Kind::read, ""},
    {"sliding_window", Kind::read, "mistral, or qwen2 with use_sliding_window"},
    {"use_sliding_window", Kind::read, "qwen2"},
    {"max_window_layers", Kind::read, "qwen2: layers below it attend fully; all or none may slide"},
    {"layer_types", Kind::read, "transformers 5: every layer full, or every layer sliding"},
    {"hidden_act", Kind::read, "silu only"},
    {"bos_token_id", Kind::read, ""},
    {"eos_token_id", Kind::read, "the first of a list"},
    {"dtype", Kind::read, "transformers 5: the dtype of the stored weights"},
    {"torch_dtype", Kind::read, "transformers 4.x spelling of dtype"},
    // Accepted only at the value that leaves transformers' forward pass unchanged.
    {"attn_logit_softcapping", Kind::neutral, "null or 0"},
    {"final_logit_softcapping", Kind::neutral, "null or 0"},
    {"num_local_experts", Kind::neutral, "null or 0: sculpt runs dense models"},
    {"num_experts", Kind::neutral, "null or 0: sculpt runs dense models"},
    {"partial_rotary_factor", Kind::neutral, "1.0: RoPE over the whole head"},
    {"rope_interleaved", Kind::neutral, "false: RoPE on rotated halves"},
    {"attention_dropout", Kind::neutral, "0.0: sculpt trains without dropout"},
    {"pruned_heads", Kind::neutral, "empty"},
    {"is_encoder_decoder", Kind::neutral, "false"},
    {"add_cross_attention", Kind::neutral, "false"},
    // Cannot change the forward pass: metadata, generation defaults, output switches.
    {"_name_or_path", Kind::no_effect, "where the model was loaded from"},
    {"_model_name_or_path", Kind::no_effect, "the model's name, as transformers' GGUF loader writes it"},
    {"architectures", Kind::no_effect, "the class name; model_type decides"},
    {"transformers_version", Kind::no_effect, "who wrote the file"},
    {"initializer_range", Kind::no_effect, "initialisation of new weights; sculpt's init-model has its own"},
    {"pretraining_tp", Kind::no_effect, "splits the same matmuls into slices; same arithmetic up to rounding"},
    {"use_cache", Kind::no_effect, "a KV-cache switch; sculpt's generation always caches"},
    {"pad_token_id", Kind::no_effect, "padding is masked out"},
    {"unk_token_id", Kind::no_effect, "the tokenizer's business"},
    {"sep_token_id", Kind::no_effect, "the tokenizer's business"},
    {"decoder_start_token_id", Kind::no_effect, "encoder-decoder generation only"},
    {"output_attentions", Kind::no_effect, "output switch"},
    {"output_hidden_states", Kind::no_effect, "output switch"},
    {"return_dict", Kind::no_effect, "output switch"},
    {"torchscript", Kind::no_effect, "export switch"},
    {"use_bfloat16", Kind::no_effect, "TensorFlow-era dtype hint"},
    {"tf_legacy_loss", Kind::no_effect, "TensorFlow loss switch"},
    {"id2label", Kind::no_effect, "classification-head labels"},
    {"label2id", Kind::no_effect, "classification-head labels"},
    {"problem_type", Kind::no_effect, "classification-head loss"},
    {"finetuning_task", Kind::no_effect, "hub metadata"},
    {"task_specific_params", Kind::no_effect, "hub metadata"},
    {"tokenizer_class", Kind::no_effect, "the tokenizer's business"},
    {"prefix", Kind::no_effect, "a prompt prefix for pipelines"},
    {"chunk_size_feed_forward", Kind::no_effect, "computes the MLP in chunks; same arithmetic"},
    {"is_decoder", Kind::no_effect, "causal LMs are decoders"},
    {"tie_encoder_decoder", Kind::no_effect, "encoder-decoder only"},
    {"cross_attention_hidden_size", Kind::no_effect, "encoder-decoder only"},
    // Generation defaults that transformers 4.x wrote into config.json; sculpt's generation takes
    // its own options (sculpt generate --help).
    {"max_length", Kind::no_effect, "generation default"},
    {"min_length", Kind::no_effect, "generation default"},
    {"do_sample", Kind::no_effect, "generation default"},
    {"early_stopping", Kind::no_effect, "generation default"},
    {"num_beams", Kind::no_effect, "generation default"},
    {"num_beam_groups", Kind::no_effect, "generation default"},
    {"diversity_penalty", Kind::no_effect, "generation default"},
    {"temperature", Kind::no_effect, "generation default"},
    {"top_k", Kind::no_effect, "generation default"},
    {"top_p", Kind::no_effect, "generation default"},
    {"typical_p", Kind::no_effect, "generation default"},
    {"repetition_penalty", Kind::no_effect, "generation default"},
    {"length_penalty", Kind::no_effect, "generation default"},
    {"no_repeat_ngram_size", Kind::no_effect, "generation default"},
    {"encoder_no_repeat_ngram_size", Kind::no_effect, "generation default"},
    {"bad_words_ids", Kind::no_effect, "generation default"},
    {"num_return_sequences", Kind::no_effect, "generation default"},
    {"output_scores", Kind::no_effect, "generation default"},
    {"return_dict_in_generate", Kind::no_effect, "generation default"},
    {"forced_bos_token_id", Kind::no_effect, "generation default"},
    {"forced_eos_token_id", Kind::no_effect, "generation default"},
    {"remove_invalid_values", Kind::no_effect, "generation default"},
    {"exponential_decay_length_penalty", Kind::no_effect, "generation default"},
    {"suppress_tokens", Kind::no_effect, "generation default"},
    {"begin_suppress_tokens", Kind::no_effect, "generation default"},
};

// Keys of rope_parameters / rope_scaling that sculpt reads; rope_type decides which matter.
const std::vector<std::string_view> kRopeKeys = {"rope_type", "type", "rope_theta", "factor", "low_freq_factor",
                                                 "high_freq_factor", "original_max_position_embeddings"};

bool neutral(const nlohmann::json& v) {
  if (v.is_null()) return true;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_number()) return v.get<double>() == 0;
  if (v.is_array() || v.is_object()) return v.empty();
  return false;
}

}  // namespace

const std::vector<HfConfigField>& hf_config_fields() { return kFields; }

void check_hf_config_fields(const nlohmann::json& j, const std::string& path) {
  auto refuse = [&](const std::string& field, const nlohmann::json& value, const std::string& hint) {
    throw Error("config field '" + field + "' = " + value.dump() + " is not supported", path, hint);
  };
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const nlohmann::json& value = item.value();
    const auto it = std::find_if(kFields.begin(), kFields.end(), [&](const HfConfigField& f) { return key == f.name; });
    if (it == kFields.end()) {
      if (key == "quantization_config")
        refuse(key, value, "sculpt reads unquantised safetensors; load the original GGUF or dequantised weights");
      if (key == "auto_map")
        refuse(key, value, "the model needs its own Python code; sculpt runs only llama, mistral and qwen2 as "
                           "transformers defines them");
      throw Error("config field '" + key + "' is not known to sculpt", path,
                  "it might change the forward pass; remove it if it is only metadata (accepted fields: "
                  "docs/config-fields.md)");
    }
    if (it->kind == Kind::neutral && !neutral(value)) {
      // partial_rotary_factor's neutral value is 1, not 0.
      if (key == "partial_rotary_factor" && value.is_number() && value.get<double>() == 1.0) continue;
      refuse(key, value, std::string("sculpt accepts it only as ") + it->note);
    }
  }
  for (const char* rope : {"rope_parameters", "rope_scaling"}) {
    if (!j.contains(rope) || !j[rope].is_object()) continue;
    for (const auto& [key, value] : j[rope].items()) {
      if (std::find(kRopeKeys.begin(), kRopeKeys.end(), key) != kRopeKeys.end()) continue;
      if (key == "partial_rotary_factor" && value.is_number() && value.get<double>() == 1.0) continue;
      throw Error("config field '" + std::string(rope) + "." + key + "' is not known to sculpt", path,
                  "sculpt implements the default, linear and llama3 RoPE; remove it if it is only metadata");
    }
  }
}

}  // namespace sculpt
