#include "sculpt/io/gguf_llama.h"

#include <algorithm>
#include <vector>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
const char* kSupported = "sculpt reads llama, mistral and qwen2 GGUF models";

// `<arch>.<key>` as an integer; `fallback` when absent (-1: required).
int64_t arch_int(const GgufFile& f, const std::string& arch, const std::string& key, int64_t fallback = -1) {
  const std::string full = arch + "." + key;
  const GgufValue* v = f.find(full);
  if (!v) {
    if (fallback >= 0) return fallback;
    throw Error("metadata key '" + full + "' is missing", f.path(), "the file is not a complete " + arch + " model");
  }
  if (v->type == GgufValue::Type::array)
    throw Error("metadata key '" + full + "' is an array (a value per layer)", f.path(),
                "sculpt needs the same " + key + " in every layer");
  const int64_t n = v->as_int(full);
  if (n <= 0 || n > (int64_t{1} << 31))
    throw Error("metadata key '" + full + "' = " + std::to_string(n) + " is out of range", f.path(),
                "the file is corrupt");
  return n;
}

double arch_number(const GgufFile& f, const std::string& arch, const std::string& key, double fallback) {
  const std::string full = arch + "." + key;
  const GgufValue* v = f.find(full);
  return v ? v->as_number(full) : fallback;
}

int64_t token_id(const GgufFile& f, const char* key) {
  const GgufValue* v = f.find(key);
  return v ? v->as_int(key) : -1;
}
}  // namespace

ModelConfig gguf_model_config(const GgufFile& f) {
  const std::string arch = f.at("general.architecture").as_string("general.architecture");
  if (arch != "llama" && arch != "mistral" && arch != "qwen2")
    throw Error("GGUF architecture '" + arch + "' is not supported", f.path(), kSupported);
  ModelConfig c;
  c.model_type = arch;
  c.hidden_size = arch_int(f, arch, "embedding_length");
  c.intermediate_size = arch_int(f, arch, "feed_forward_length");
  c.num_layers = arch_int(f, arch, "block_count");
  c.num_heads = arch_int(f, arch, "attention.head_count");
  c.num_kv_heads = arch_int(f, arch, "attention.head_count_kv", c.num_heads);
  c.head_dim = arch_int(f, arch, "attention.key_length", c.num_heads > 0 ? c.hidden_size / c.num_heads : 0);
  check(arch_int(f, arch, "attention.value_length", c.head_dim) == c.head_dim,
        "metadata key '" + arch + ".attention.value_length' differs from the key length", f.path(),
        "sculpt needs equal key and value head sizes");
  const int64_t rope_dims = arch_int(f, arch, "rope.dimension_count", c.head_dim);
  check(rope_dims == c.head_dim,
        "metadata key '" + arch + ".rope.dimension_count' = " + std::to_string(rope_dims) +
            " is not the head size " + std::to_string(c.head_dim),
        f.path(), "sculpt applies RoPE to the whole head");
  c.max_position_embeddings = arch_int(f, arch, "context_length", 2048);
  c.rms_norm_eps = arch_number(f, arch, "attention.layer_norm_rms_epsilon", 1e-5);
  c.rope_theta = arch_number(f, arch, "rope.freq_base", 10000.0);
  if (const GgufValue* scaling = f.find(arch + ".rope.scaling.type")) {
    const std::string type = scaling->as_string(arch + ".rope.scaling.type");
    if (type == "linear") {
      c.rope_scaling.type = "linear";
      c.rope_scaling.factor = arch_number(f, arch, "rope.scaling.factor", 1.0);
    } else if (type != "none") {
      throw Error("RoPE scaling '" + type + "' is not supported", f.path(), "sculpt reads linear RoPE scaling");
    }
  }
  if (f.find_tensor("rope_freqs.weight"))
    throw Error("tensor 'rope_freqs.weight' (Llama 3 RoPE scaling) is not supported", f.path(),
                "load the Hugging Face checkpoint of this model instead");
  c.sliding_window = arch_int(f, arch, "attention.sliding_window", 0);
  const GgufTensorInfo* embed = f.find_tensor("token_embd.weight");
  if (!embed || embed->dims.size() != 2)
    throw Error("tensor 'token_embd.weight' is missing or not a matrix", f.path(), "the file is not a complete model");
  c.vocab_size = arch_int(f, arch, "vocab_size", embed->dims[1]);
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qkv_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.o_bias = f.find_tensor("blk.0.attn_output.bias") != nullptr;
  c.mlp_bias = f.find_tensor("blk.0.ffn_up.bias") != nullptr;
  if (arch == "qwen2" && c.o_bias)
    throw Error("tensor 'blk.0.attn_output.bias' is not part of a qwen2 model", f.path(), "the file is corrupt");
  c.bos_token_id = token_id(f, "tokenizer.ggml.bos_token_id");
  c.eos_token_id = token_id(f, "tokenizer.ggml.eos_token_id");
  c.torch_dtype = "float32";
  c.validate(f.path());
  return c;
}

std::string gguf_tensor_name(const std::string& hf) {
  static const std::vector<std::pair<std::string, std::string>> kLayer = {
      {"input_layernorm", "attn_norm"},  {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},    {"self_attn.o_proj", "attn_output"},
      {"post_attention_layernorm", "ffn_norm"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"}};
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string prefix = "model.layers.";
  if (hf.rfind(prefix, 0) == 0) {
    const size_t dot = hf.find('.', prefix.size());
    if (dot != std::string::npos) {
      const std::string layer = hf.substr(prefix.size(), dot - prefix.size());
      const std::string rest = hf.substr(dot + 1);  // "self_attn.q_proj.weight"
      const size_t last = rest.rfind('.');
      const std::string module = rest.substr(0, last), suffix = rest.substr(last);  // ".weight"/".bias"
      for (const auto& [from, to] : kLayer)
        if (module == from) return "blk." + layer + "." + to + suffix;
    }
  }
  throw Error("parameter '" + hf + "' has no GGUF name", "gguf", "sculpt maps Llama-family parameters only");
}

bool gguf_rows_permuted(const ModelConfig& c, const std::string& hf) {
  if (c.model_type == "qwen2") return false;
  return hf.find("self_attn.q_proj.") != std::string::npos || hf.find("self_attn.k_proj.") != std::string::npos;
}

namespace {
// Moves rows within each head: to_gguf maps HF row j*half + i to GGUF row 2*i + j.
void permute_rows(Tensor& t, int64_t head_dim, bool to_gguf) {
  const int64_t rows = t.dim(0), cols = t.numel() / rows, half = head_dim / 2;
  check(rows % head_dim == 0 && head_dim % 2 == 0, "cannot permute " + shape_to_string(t.shape()) +
        " in heads of " + std::to_string(head_dim), "gguf");
  std::vector<float> head(static_cast<size_t>(head_dim * cols));
  for (int64_t h = 0; h < rows / head_dim; ++h) {
    float* base = t.data() + h * head_dim * cols;
    std::copy(base, base + head_dim * cols, head.begin());
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i) {
        const int64_t hf_row = j * half + i, gguf_row = 2 * i + j;
        const int64_t from = to_gguf ? hf_row : gguf_row, to = to_gguf ? gguf_row : hf_row;
        std::copy(head.begin() + from * cols, head.begin() + (from + 1) * cols, base + to * cols);
      }
  }
}
}  // namespace

void gguf_unpermute_rows(Tensor& t, int64_t head_dim) { permute_rows(t, head_dim, false); }
void gguf_permute_rows(Tensor& t, int64_t head_dim) { permute_rows(t, head_dim, true); }

}  // namespace sculpt
