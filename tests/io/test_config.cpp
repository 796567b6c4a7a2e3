#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "sculpt/core/error.h"
#include "sculpt/io/model_config.h"
#include "test_support.h"

namespace sculpt {
namespace {

std::string write_config(const testing::TempDir& dir, const std::string& text) {
  std::ofstream(dir / "config.json") << text;
  return dir / "config.json";
}

TEST(HfConfig, ReadsGroupedQueryLlama) {
  ModelConfig c = read_hf_config(testing::fixtures("model/gqa_odd/config.json"));
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.hidden_size, 36);
  EXPECT_EQ(c.num_heads, 6);
  EXPECT_EQ(c.num_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 6);
  EXPECT_EQ(c.intermediate_size, 67);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500.0);
  EXPECT_FALSE(c.qkv_bias);
}

TEST(HfConfig, Qwen2HasQkvBiasOnly) {
  ModelConfig c = read_hf_config(testing::fixtures("model/qwen2_bias_tied/config.json"));
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(HfConfig, Llama3RopeScalingAndExplicitHeadDim) {
  ModelConfig c = read_hf_config(testing::fixtures("model/llama3_rope/config.json"));
  EXPECT_EQ(c.head_dim, 10);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 16);
  EXPECT_TRUE(c.qkv_bias && c.o_bias);
}

TEST(HfConfig, MistralSlidingWindow) {
  EXPECT_EQ(read_hf_config(testing::fixtures("model/mistral_window/config.json")).sliding_window, 4);
}

TEST(HfConfig, RoundTripsThroughWriter) {
  testing::TempDir dir;
  ModelConfig c = read_hf_config(testing::fixtures("model/llama3_rope/config.json"));
  write_config(dir, hf_config_json(c));
  ModelConfig d = read_hf_config(dir / "config.json");
  EXPECT_EQ(d.hidden_size, c.hidden_size);
  EXPECT_EQ(d.head_dim, c.head_dim);
  EXPECT_EQ(d.rope_scaling.type, c.rope_scaling.type);
  EXPECT_EQ(d.qkv_bias, c.qkv_bias);
  EXPECT_EQ(d.parameter_count(), c.parameter_count());
}

void expect_error(const std::string& json, const std::string& fragment) {
  testing::TempDir dir;
  const std::string path = write_config(dir, json);
  try {
    read_hf_config(path);
    ADD_FAILURE() << "no error for " << fragment;
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find(fragment), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find(path), std::string::npos) << e.one_line();
  }
}

const char* const kBase =
    R"("hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10)";

TEST(HfConfigErrors, EachProblemIsNamed) {
  expect_error("{not json", "not a JSON object");
  expect_error(std::string(R"({"model_type": "gpt2", )") + kBase + "}", "unsupported model_type 'gpt2'");
  expect_error(R"({"model_type": "llama", "hidden_size": 64})", "missing or non-integer field 'intermediate_size'");
  expect_error(std::string(R"({"model_type": "llama", "num_key_value_heads": 3, )") + kBase + "}",
               "not a multiple of num_key_value_heads");
  expect_error(R"({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 0,
                 "num_attention_heads": 4, "vocab_size": 10})",
               "num_hidden_layers must be positive");
  expect_error(R"({"model_type": "llama", "hidden_size": 66, "intermediate_size": 128, "num_hidden_layers": 1,
                 "num_attention_heads": 4, "vocab_size": 10})",
               "not divisible by num_attention_heads");
  expect_error(std::string(R"({"model_type": "llama", "hidden_act": "gelu", )") + kBase + "}", "hidden_act");
  expect_error(std::string(R"({"model_type": "llama", "rope_scaling": {"rope_type": "yarn", "factor": 2}, )") + kBase + "}",
               "rope_scaling type 'yarn'");
  expect_error(std::string(R"({"model_type": "llama", "rms_norm_eps": "x", )") + kBase + "}", "wrong type");
  // Fields of newer transformers that would change the forward pass are refused by name.
  expect_error(std::string(R"({"model_type": "llama", "rope_parameters": {"rope_type": "yarn", "rope_theta": 1e4}, )") +
                   kBase + "}",
               "rope_scaling type 'yarn'");
  expect_error(std::string(R"({"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 8,
                 "layer_types": ["sliding_attention", "full_attention"], )") + kBase + "}",
               "config field 'layer_types' = [\"sliding_attention\",\"full_attention\"] is not supported");
  expect_error(std::string(R"({"model_type": "llama", "final_logit_softcapping": 30.0, )") + kBase + "}",
               "config field 'final_logit_softcapping' = 30.0 is not supported");
  expect_error(std::string(R"({"model_type": "llama", "partial_rotary_factor": 0.5, )") + kBase + "}",
               "'partial_rotary_factor'");
  expect_error(std::string(R"({"model_type": "llama", "rope_interleaved": true, )") + kBase + "}", "'rope_interleaved'");
}

// transformers >= 5 writes rope_parameters and dtype where 4.x wrote rope_theta, rope_scaling and
// torch_dtype; both spellings load the same model.
TEST(HfConfig, ReadsTransformers5RopeParameters) {
  testing::TempDir dir;
  const ModelConfig c = read_hf_config(write_config(dir, std::string(R"({"model_type": "llama", "dtype": "bfloat16",
      "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
      "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
      "layer_types": ["full_attention", "full_attention"], "use_cache": true, "pretraining_tp": 1, )") + kBase + "}"));
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
}

// Every key is read, neutral or without effect; anything else is refused by name.
TEST(HfConfigErrors, UnknownFieldsAreRefusedByName) {
  expect_error(std::string(R"({"model_type": "llama", "my_new_attention_trick": true, )") + kBase + "}",
               "config field 'my_new_attention_trick' is not known to sculpt");
  expect_error(std::string(R"({"model_type": "llama", "quantization_config": {"quant_method": "gptq"}, )") + kBase + "}",
               "config field 'quantization_config'");
  expect_error(std::string(R"({"model_type": "llama", "auto_map": {"AutoModel": "x.Y"}, )") + kBase + "}",
               "config field 'auto_map'");
  expect_error(std::string(R"({"model_type": "llama", "rope_parameters": {"rope_type": "default", "rope_theta": 1e4,
               "beta_fast": 32}, )") + kBase + "}",
               "config field 'rope_parameters.beta_fast' is not known to sculpt");
  expect_error(std::string(R"({"model_type": "llama", "attention_dropout": 0.1, )") + kBase + "}",
               "config field 'attention_dropout' = 0.1 is not supported");
  expect_error(std::string(R"({"model_type": "llama", "pruned_heads": {"0": [1]}, )") + kBase + "}",
               "config field 'pruned_heads'");
  // Qwen2 slides in the layers at or above max_window_layers: all of them or none is supported.
  expect_error(std::string(R"({"model_type": "qwen2", "use_sliding_window": true, "sliding_window": 8,
               "max_window_layers": 1, )") + kBase + "}",
               "config field 'max_window_layers' = 1 is not supported");
}

TEST(HfConfig, NeutralValuesAndMetadataAreAccepted) {
  testing::TempDir dir;
  const ModelConfig c = read_hf_config(write_config(dir, std::string(R"({"model_type": "llama",
      "attention_dropout": 0.0, "partial_rotary_factor": 1.0, "rope_interleaved": false, "pruned_heads": {},
      "num_experts": null, "architectures": ["LlamaForCausalLM"], "_name_or_path": "x", "pad_token_id": 0,
      "temperature": 0.7, "transformers_version": "4.44.0", )") + kBase + "}"));
  EXPECT_EQ(c.hidden_size, 64);
  const ModelConfig all = read_hf_config(write_config(dir, std::string(R"({"model_type": "qwen2",
      "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 0, )") + kBase + "}"));
  EXPECT_EQ(all.sliding_window, 8);
  const ModelConfig none = read_hf_config(write_config(dir, std::string(R"({"model_type": "qwen2",
      "use_sliding_window": true, "sliding_window": 8, "max_window_layers": 28, )") + kBase + "}"));
  EXPECT_EQ(none.sliding_window, 0);
}

// docs/config-fields.md lists exactly the fields the code accounts for.
TEST(HfConfig, DocumentedFieldsEqualTheCode) {
  std::ifstream doc(testing::source_dir("docs/config-fields.md"));
  ASSERT_TRUE(doc) << "docs/config-fields.md is missing";
  std::set<std::string> documented, coded;
  const std::regex row(R"(^\| `([^`]+)` \|)");
  for (std::string line; std::getline(doc, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) documented.insert(m[1]);
  }
  for (const HfConfigField& f : hf_config_fields()) EXPECT_TRUE(coded.insert(f.name).second) << "twice: " << f.name;
  EXPECT_EQ(documented, coded);
}

}  // namespace
}  // namespace sculpt
