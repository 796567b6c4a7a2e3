#include "sculpt/io/llama2c.h"

#include <cstring>
#include <fstream>
#include <vector>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
constexpr uint32_t kMagicV1 = 0x616b3432;  // "ak42"

class Reader {
 public:
  Reader(const std::string& path, std::vector<char> bytes) : path_(path), bytes_(std::move(bytes)) {}
  size_t remaining() const { return bytes_.size() - pos_; }
  void seek(size_t pos) { pos_ = pos; }
  // Reads `shape` f32 values; errors name the tensor when the file ends early.
  Tensor tensor(const std::string& name, Shape shape) {
    Tensor t = Tensor::zeros(std::move(shape));
    size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
    check(bytes <= remaining(),
          "file ends inside tensor '" + name + "' (needs " + std::to_string(bytes) + " bytes, " +
              std::to_string(remaining()) + " left)",
          path_, "the checkpoint is truncated or its header does not match its weights");
    std::memcpy(t.data(), bytes_.data() + pos_, bytes);
    pos_ += bytes;
    return t;
  }
  const char* at(size_t pos) const { return bytes_.data() + pos; }

 private:
  std::string path_;
  std::vector<char> bytes_;
  size_t pos_ = 0;
};

std::string layer_name(int64_t l, const char* suffix) {
  return "model.layers." + std::to_string(l) + "." + suffix;
}
}  // namespace

Tensor permute_rotary_rows_to_hf(const Tensor& weight, int64_t n_heads, int64_t head_dim) {
  const int64_t cols = weight.dim(1), half = head_dim / 2;
  Tensor out = Tensor::zeros(weight.shape());
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t part = 0; part < 2; ++part)
      for (int64_t i = 0; i < half; ++i) {
        const float* src = weight.data() + (h * head_dim + 2 * i + part) * cols;
        float* dst = out.data() + (h * head_dim + part * half + i) * cols;
        std::memcpy(dst, src, sizeof(float) * cols);
      }
  return out;
}

Llama2cCheckpoint read_llama2c(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw Error("cannot open llama2.c checkpoint", path);
  std::vector<char> bytes(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  check(bytes.size() >= 28, "file is too short for a llama2.c header", path, "the file is truncated");
  Reader reader(path, std::move(bytes));

  Llama2cCheckpoint ckpt;
  int32_t header[7];
  uint32_t magic;
  std::memcpy(&magic, reader.at(0), 4);
  bool shared_classifier;
  if (magic == kMagicV1) {
    int32_t version;
    std::memcpy(&version, reader.at(4), 4);
    check(version == 1, "llama2.c export version " + std::to_string(version) + " is not supported", path,
          "version 2 is int8-quantised; export with version 1 (fp32) or convert to Hugging Face layout");
    check(reader.remaining() >= 256, "file is too short for a v1 header", path, "the file is truncated");
    std::memcpy(header, reader.at(8), sizeof header);
    shared_classifier = reader.at(36)[0] != 0;
    ckpt.version = 1;
    reader.seek(256);
  } else {
    std::memcpy(header, reader.at(0), sizeof header);
    shared_classifier = header[5] > 0;  // legacy: a negative vocab size means an untied classifier
    header[5] = std::abs(header[5]);
    reader.seek(28);
  }
  ModelConfig& c = ckpt.config;
  c.model_type = "llama";
  c.hidden_size = header[0];
  c.intermediate_size = header[1];
  c.num_layers = header[2];
  c.num_heads = header[3];
  c.num_kv_heads = header[4];
  c.vocab_size = header[5];
  c.max_position_embeddings = header[6];
  c.head_dim = c.num_heads > 0 ? c.hidden_size / c.num_heads : 0;
  c.tie_word_embeddings = shared_classifier;
  c.rms_norm_eps = 1e-5;  // run.c's constant
  c.rope_theta = 10000.0;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.validate(path + " (llama2.c header)");
  check(c.hidden_size % c.num_heads == 0, "dim is not divisible by n_heads", path);

  const int64_t L = c.num_layers, D = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t Q = c.q_dim(), KV = c.kv_dim(), hd = c.head_dim;
  auto& t = ckpt.tensors;
  // Reads one stacked (L, rows, cols) block and splits it into per-layer HF tensors.
  auto per_layer = [&](const char* suffix, Shape shape) {
    Shape stacked{L};
    for (int64_t dim : shape) stacked.push_back(dim);
    Tensor all = reader.tensor(suffix, stacked);
    for (int64_t l = 0; l < L; ++l) t[layer_name(l, suffix)] = all.rows(l, l + 1).reshape(shape).clone();
  };
  if (ckpt.version == 0) {
    t["model.embed_tokens.weight"] = reader.tensor("token_embedding_table", {V, D});
    per_layer("input_layernorm.weight", {D});
    per_layer("self_attn.q_proj.weight", {Q, D});
    per_layer("self_attn.k_proj.weight", {KV, D});
    per_layer("self_attn.v_proj.weight", {KV, D});
    per_layer("self_attn.o_proj.weight", {D, Q});
    per_layer("post_attention_layernorm.weight", {D});
    per_layer("mlp.gate_proj.weight", {F, D});
    per_layer("mlp.down_proj.weight", {D, F});
    per_layer("mlp.up_proj.weight", {F, D});
    t["model.norm.weight"] = reader.tensor("rms_final_weight", {D});
    reader.tensor("freq_cis_real", {c.max_position_embeddings, hd / 2});  // unused: RoPE is recomputed
    reader.tensor("freq_cis_imag", {c.max_position_embeddings, hd / 2});
  } else {
    per_layer("input_layernorm.weight", {D});
    per_layer("post_attention_layernorm.weight", {D});
    t["model.norm.weight"] = reader.tensor("norm", {D});
    t["model.embed_tokens.weight"] = reader.tensor("tok_embeddings", {V, D});
    per_layer("self_attn.q_proj.weight", {Q, D});
    per_layer("self_attn.k_proj.weight", {KV, D});
    per_layer("self_attn.v_proj.weight", {KV, D});
    per_layer("self_attn.o_proj.weight", {D, Q});
    per_layer("mlp.gate_proj.weight", {F, D});
    per_layer("mlp.down_proj.weight", {D, F});
    per_layer("mlp.up_proj.weight", {F, D});
  }
  if (!shared_classifier) t["lm_head.weight"] = reader.tensor("output", {V, D});
  check(reader.remaining() == 0,
        std::to_string(reader.remaining()) + " unexpected bytes after the last tensor", path,
        "the header does not describe this file; is it a llama2.c checkpoint?");
  for (int64_t l = 0; l < L; ++l) {
    auto& wq = t[layer_name(l, "self_attn.q_proj.weight")];
    auto& wk = t[layer_name(l, "self_attn.k_proj.weight")];
    wq = permute_rotary_rows_to_hf(wq, c.num_heads, hd);
    wk = permute_rotary_rows_to_hf(wk, c.num_kv_heads, hd);
  }
  return ckpt;
}

}  // namespace sculpt
