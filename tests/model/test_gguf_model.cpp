// A Llama model read from a GGUF file built here: the config from `llama.*` metadata, llama.cpp's
// tensor names mapped to Hugging Face's, its q/k row permutation undone; and the faults a
// downloaded file can have (another architecture, a tensor of the wrong shape, a missing or an
// extra tensor) each one Error naming the file and the tensor or key. Agreement with transformers
// on the real SmolLM2 file is tests/interop/check_gguf_model.py.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "io/gguf_bytes.h"
#include "sculpt/core/error.h"
#include "sculpt/io/gguf_llama.h"
#include "sculpt/model/llama.h"
#include "test_support.h"

namespace sculpt {
namespace {

using testing::GgufBytes;

// hidden 8, intermediate 16, 1 layer, 2 query heads and 1 key-value head of 4, vocabulary 10,
// tied embeddings. GGUF dims are the HF shape reversed.
struct TinyTensor {
  std::string name;
  std::vector<uint64_t> dims;
};
std::vector<TinyTensor> tiny_tensors() {
  return {{"token_embd.weight", {8, 10}},       {"output_norm.weight", {8}},
          {"blk.0.attn_norm.weight", {8}},      {"blk.0.attn_q.weight", {8, 8}},
          {"blk.0.attn_k.weight", {8, 4}},      {"blk.0.attn_v.weight", {8, 4}},
          {"blk.0.attn_output.weight", {8, 8}}, {"blk.0.ffn_norm.weight", {8}},
          {"blk.0.ffn_gate.weight", {8, 16}},   {"blk.0.ffn_up.weight", {8, 16}},
          {"blk.0.ffn_down.weight", {16, 8}}};
}

// Element e of tensor t holds t * 1000 + e, so every value says where it came from.
std::string tiny_llama(const std::string& arch = "llama", std::vector<TinyTensor> tensors = tiny_tensors()) {
  GgufBytes g;
  g.header(tensors.size(), 6);
  g.kv_string("general.architecture", arch);
  g.kv_u32(arch + ".embedding_length", 8);
  g.kv_u32(arch + ".feed_forward_length", 16);
  g.kv_u32(arch + ".block_count", 1);
  g.kv_u32(arch + ".attention.head_count", 2);
  g.kv_u32(arch + ".attention.head_count_kv", 1);
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (uint64_t d : t.dims) n *= d;
    g.tensor(t.name, t.dims, 0, offset);
    sizes.push_back(n);
    offset += (n * 4 + 31) / 32 * 32;
  }
  for (size_t t = 0; t < tensors.size(); ++t) {
    g.pad(32);
    for (uint64_t e = 0; e < sizes[t]; ++e) g.put<float>(static_cast<float>(t * 1000 + e));
  }
  g.pad(32);
  return g.b;
}

std::string write_model(const testing::TempDir& dir, const std::string& bytes) {
  const std::string path = dir / "tiny.gguf";
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string load_error(const std::string& path, const std::string& expected) {
  try {
    load_model(path);
    ADD_FAILURE() << "no error for " << expected;
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find(path), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find(expected), std::string::npos) << e.one_line();
    return e.one_line();
  }
  return "";
}

TEST(GgufModel, ConfigNamesAndPermutationUndone) {
  testing::TempDir dir;
  const LlamaModel m = load_model(write_model(dir, tiny_llama()));
  const ModelConfig& c = m.config();
  EXPECT_EQ(c.hidden_size, 8);
  EXPECT_EQ(c.intermediate_size, 16);
  EXPECT_EQ(c.num_layers, 1);
  EXPECT_EQ(c.num_heads, 2);
  EXPECT_EQ(c.num_kv_heads, 1);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_EQ(c.vocab_size, 10);
  EXPECT_TRUE(c.tie_word_embeddings);
  // Unpermuted names: the embedding is tensor 0 as stored (row-major (10, 8)).
  const Tensor& embed = m.parameter("model.embed_tokens.weight");
  for (int64_t e = 0; e < embed.numel(); ++e) ASSERT_EQ(embed.data()[e], static_cast<float>(e));
  const Tensor& down = m.parameter("model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(down.shape(), Shape({8, 16}));
  EXPECT_EQ(down.data()[17], 10000.0f + 17);
  // q (tensor 3) and k (tensor 4): within each head of 4 rows, GGUF row 2i + j holds HF row
  // 2j + i (llama.cpp's converter interleaved the two rotary halves).
  for (const auto& [name, index, rows] : {std::tuple{"model.layers.0.self_attn.q_proj.weight", 3, 8},
                                          std::tuple{"model.layers.0.self_attn.k_proj.weight", 4, 4}}) {
    const Tensor& w = m.parameter(name);
    for (int hf_row = 0; hf_row < rows; ++hf_row) {
      const int head = hf_row / 4, j = (hf_row % 4) / 2, i = hf_row % 2;
      const int gguf_row = head * 4 + 2 * i + j;
      for (int col = 0; col < 8; ++col)
        ASSERT_EQ(w.data()[hf_row * 8 + col], static_cast<float>(index * 1000 + gguf_row * 8 + col))
            << name << " row " << hf_row;
    }
  }
  // v is not permuted.
  EXPECT_EQ(m.parameter("model.layers.0.self_attn.v_proj.weight").data()[9], 5000.0f + 9);
}

TEST(GgufModel, PermutationRoundTrips) {
  Tensor t = Tensor::zeros({8, 3});
  for (int64_t e = 0; e < t.numel(); ++e) t.data()[e] = static_cast<float>(e);
  const Tensor original = t.clone();
  gguf_permute_rows(t, 4);
  EXPECT_FALSE(testing::same_bits(t, original));
  gguf_unpermute_rows(t, 4);
  EXPECT_TRUE(testing::same_bits(t, original));
}

TEST(GgufModel, TensorNames) {
  EXPECT_EQ(gguf_tensor_name("model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight");
  EXPECT_EQ(gguf_tensor_name("model.layers.0.self_attn.k_proj.bias"), "blk.0.attn_k.bias");
  EXPECT_EQ(gguf_tensor_name("model.layers.3.post_attention_layernorm.weight"), "blk.3.ffn_norm.weight");
  EXPECT_EQ(gguf_tensor_name("model.norm.weight"), "output_norm.weight");
  EXPECT_EQ(gguf_tensor_name("lm_head.weight"), "output.weight");
  EXPECT_THROW(gguf_tensor_name("model.layers.0.vision.patch_embed"), Error);
}

TEST(GgufModelErrors, AnotherArchitectureIsNamed) {
  testing::TempDir dir;
  const std::string msg = load_error(write_model(dir, tiny_llama("clip")), "GGUF architecture 'clip' is not supported");
  EXPECT_NE(msg.find("llama, mistral and qwen2"), std::string::npos) << msg;
}

TEST(GgufModelErrors, ATensorOfTheWrongShapeIsNamed) {
  testing::TempDir dir;
  auto tensors = tiny_tensors();
  tensors[5].dims = {8, 8};  // v with 8 rows where one kv head of 4 has 4
  load_error(write_model(dir, tiny_llama("llama", tensors)),
             "tensor 'blk.0.attn_v.weight' has shape (8, 8) but the metadata implies (4, 8)");
}

TEST(GgufModelErrors, MissingAndExtraTensorsAreNamed) {
  testing::TempDir dir;
  auto missing = tiny_tensors();
  missing.erase(missing.begin() + 9);  // ffn_up
  load_error(write_model(dir, tiny_llama("llama", missing)), "tensor 'blk.0.ffn_up.weight' is missing");
  auto extra = tiny_tensors();
  extra.push_back({"blk.0.attn_q_norm.weight", {4}});
  load_error(write_model(dir, tiny_llama("llama", extra)), "tensor 'blk.0.attn_q_norm.weight' is not part of a llama model");
}

}  // namespace
}  // namespace sculpt
