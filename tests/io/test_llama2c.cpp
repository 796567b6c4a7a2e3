#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "sculpt/core/error.h"
#include "sculpt/io/llama2c.h"
#include "sculpt/io/safetensors.h"
#include "test_support.h"

namespace sculpt {
namespace {

TEST(Llama2c, RotaryPermutationMovesInterleavedPairsToHalves) {
  // One head of dim 4, one column: llama2.c rows (x0, y0, x1, y1) → HF rows (x0, x1, y0, y1).
  Tensor w = Tensor::from({4, 1}, {10, 20, 11, 21});
  Tensor hf = permute_rotary_rows_to_hf(w, 1, 4);
  EXPECT_EQ(hf[0], 10);
  EXPECT_EQ(hf[1], 11);
  EXPECT_EQ(hf[2], 20);
  EXPECT_EQ(hf[3], 21);
}

// stories260K ships both formats; converting the .bin must give the HF weights exactly.
TEST(Llama2c, Stories260KLegacyFileEqualsHfWeights) {
  const std::string bin = testing::shared_dir("models/stories260K/stories260K.bin");
  SCULPT_REQUIRE_PATH(bin);
  Llama2cCheckpoint ckpt = read_llama2c(bin);
  EXPECT_EQ(ckpt.version, 0);
  EXPECT_EQ(ckpt.config.hidden_size, 64);
  EXPECT_EQ(ckpt.config.num_kv_heads, 4);
  EXPECT_TRUE(ckpt.config.tie_word_embeddings);
  SafetensorsFile hf(testing::shared_dir("models/stories260K/hf/model.safetensors"));
  for (const auto& [name, tensor] : ckpt.tensors) {
    ASSERT_TRUE(hf.has(name)) << name;
    Tensor ref = hf.read_f32(name);
    ASSERT_EQ(ref.shape(), tensor.shape()) << name;
    EXPECT_EQ(std::memcmp(ref.data(), tensor.data(), sizeof(float) * ref.numel()), 0) << name;
  }
  EXPECT_EQ(ckpt.tensors.size(), hf.names().size());
}

// Writes the HF weights of stories260K back as a llama2.c v1 export and reads it again.
TEST(Llama2c, Version1ExportRoundTrip) {
  const std::string hf_path = testing::shared_dir("models/stories260K/hf/model.safetensors");
  SCULPT_REQUIRE_PATH(hf_path);
  SafetensorsFile hf(hf_path);
  const int32_t D = 64, F = 172, L = 5, H = 8, KV = 4, V = 512, S = 512, hd = 8;
  auto to_llama2c = [&](const Tensor& w, int heads) {  // inverse of permute_rotary_rows_to_hf
    Tensor out = Tensor::zeros(w.shape());
    const int64_t cols = w.dim(1);
    for (int h = 0; h < heads; ++h)
      for (int part = 0; part < 2; ++part)
        for (int i = 0; i < hd / 2; ++i)
          std::memcpy(out.data() + (h * hd + 2 * i + part) * cols, w.data() + (h * hd + part * hd / 2 + i) * cols,
                      sizeof(float) * cols);
    return out;
  };
  testing::TempDir dir;
  std::ofstream out(dir / "v1.bin", std::ios::binary);
  auto put = [&](const void* p, size_t n) { out.write(static_cast<const char*>(p), static_cast<std::streamsize>(n)); };
  auto put_tensor = [&](const Tensor& t) { put(t.data(), sizeof(float) * t.numel()); };
  const uint32_t magic = 0x616b3432;
  const int32_t version = 1, header[7] = {D, F, L, H, KV, V, S};
  put(&magic, 4);
  put(&version, 4);
  put(header, sizeof header);
  const char shared = 1;
  put(&shared, 1);
  const std::string pad(256 - 4 - 4 - sizeof header - 1, '\0');
  put(pad.data(), pad.size());
  auto layer = [](int l, const char* s) { return "model.layers." + std::to_string(l) + "." + s; };
  for (int l = 0; l < L; ++l) put_tensor(hf.read_f32(layer(l, "input_layernorm.weight")));
  for (int l = 0; l < L; ++l) put_tensor(hf.read_f32(layer(l, "post_attention_layernorm.weight")));
  put_tensor(hf.read_f32("model.norm.weight"));
  put_tensor(hf.read_f32("model.embed_tokens.weight"));
  for (int l = 0; l < L; ++l) put_tensor(to_llama2c(hf.read_f32(layer(l, "self_attn.q_proj.weight")), H));
  for (int l = 0; l < L; ++l) put_tensor(to_llama2c(hf.read_f32(layer(l, "self_attn.k_proj.weight")), KV));
  for (const char* s : {"self_attn.v_proj.weight", "self_attn.o_proj.weight", "mlp.gate_proj.weight",
                        "mlp.down_proj.weight", "mlp.up_proj.weight"})
    for (int l = 0; l < L; ++l) put_tensor(hf.read_f32(layer(l, s)));
  out.close();

  Llama2cCheckpoint ckpt = read_llama2c(dir / "v1.bin");
  EXPECT_EQ(ckpt.version, 1);
  for (const auto& [name, tensor] : ckpt.tensors) {
    Tensor ref = hf.read_f32(name);
    EXPECT_EQ(std::memcmp(ref.data(), tensor.data(), sizeof(float) * ref.numel()), 0) << name;
  }
}

TEST(Llama2c, TruncatedFileNamesTheTensor) {
  const std::string bin = testing::shared_dir("models/stories260K/stories260K.bin");
  SCULPT_REQUIRE_PATH(bin);
  testing::TempDir dir;
  std::ifstream in(bin, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir / "cut.bin", std::ios::binary) << bytes.substr(0, 100000);
  try {
    read_llama2c(dir / "cut.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find("file ends inside tensor"), std::string::npos) << e.one_line();
    EXPECT_NE(e.one_line().find("cut.bin"), std::string::npos) << e.one_line();
  }
}

}  // namespace
}  // namespace sculpt
