// sculpt init-model: a randomly initialised Llama-family model in Hugging Face layout, with a
// byte-level tokenizer or the tokenizer of --tokenizer DIR (vocabulary size and BOS/EOS taken
// from it), written atomically (a temporary directory renamed into place).
#include <filesystem>
#include <unistd.h>

#include "commands.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/model/llama.h"
#include "sculpt/text/byte_tokenizer.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt::cli {

namespace fs = std::filesystem;

namespace {
struct InitArgs {
  std::string output_dir, preset = "tiny", model_type = "llama", dtype = "f32", tokenizer_dir;
  int64_t hidden_size = 0, intermediate_size = 0, num_layers = 0, num_heads = 0, num_kv_heads = 0, context = 0;
  uint64_t seed = 0;
  bool tie = true, overwrite = false;
};

ModelConfig preset_config(const std::string& preset) {
  ModelConfig c;
  if (preset == "tiny") {  // ~0.2 M parameters: instant, for demos and tests
    c.hidden_size = 64, c.intermediate_size = 172, c.num_layers = 4, c.num_heads = 4, c.num_kv_heads = 2;
    c.max_position_embeddings = 512;
  } else if (preset == "small") {  // ~6 M parameters
    c.hidden_size = 256, c.intermediate_size = 688, c.num_layers = 6, c.num_heads = 8, c.num_kv_heads = 4;
    c.max_position_embeddings = 1024;
  } else {
    throw Error("unknown preset '" + preset + "'", "--preset", "choose tiny or small");
  }
  return c;
}

void run_init(const InitArgs& a) {
  ModelConfig c = preset_config(a.preset);
  c.model_type = a.model_type;
  if (a.hidden_size) c.hidden_size = a.hidden_size;
  if (a.intermediate_size) c.intermediate_size = a.intermediate_size;
  if (a.num_layers) c.num_layers = a.num_layers;
  if (a.num_heads) c.num_heads = a.num_heads;
  if (a.num_kv_heads) c.num_kv_heads = a.num_kv_heads;
  else if (a.num_heads) c.num_kv_heads = a.num_heads;
  if (a.context) c.max_position_embeddings = a.context;
  check(c.num_heads > 0 && c.hidden_size % c.num_heads == 0,
        "hidden size " + std::to_string(c.hidden_size) + " is not divisible by " + std::to_string(c.num_heads) + " heads",
        "init-model", "choose sizes where heads divide the hidden size");
  c.head_dim = c.hidden_size / c.num_heads;
  std::unique_ptr<Tokenizer> tokenizer;
  if (!a.tokenizer_dir.empty()) {
    check(fs::is_directory(a.tokenizer_dir), "not a directory", a.tokenizer_dir,
          "give the directory sculpt tokenizer train wrote");
    tokenizer = load_tokenizer(a.tokenizer_dir);
    c.vocab_size = tokenizer->vocab_size();
    c.bos_token_id = tokenizer->bos_id();
    c.eos_token_id = tokenizer->eos_id();
  } else {
    c.vocab_size = kByteTokenizerVocab;
    c.bos_token_id = kByteTokenizerBos;
    c.eos_token_id = kByteTokenizerEos;
  }
  c.tie_word_embeddings = a.tie;
  c.qkv_bias = c.model_type == "qwen2";
  if (c.model_type == "mistral") c.sliding_window = c.max_position_embeddings;
  c.validate("init-model");

  const fs::path out(a.output_dir);
  if (fs::exists(out)) {
    check(fs::is_directory(out), "exists and is not a directory", a.output_dir, "choose another --output-dir");
    check(a.overwrite || fs::is_empty(out), "directory exists and is not empty", a.output_dir,
          "pass --overwrite to replace it");
  }
  const fs::path tmp = out.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  try {
    fs::create_directories(tmp);
    LlamaModel model(c);
    Rng rng(a.seed);
    init_random(model, rng);
    const DType dtype = a.dtype == "bf16" ? DType::bf16 : a.dtype == "f16" ? DType::f16 : DType::f32;
    save_model_hf(model, tmp.string(), dtype);
    if (tokenizer) {
      for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"})
        if (fs::is_regular_file(fs::path(a.tokenizer_dir) / name))
          fs::copy_file(fs::path(a.tokenizer_dir) / name, tmp / name);
    } else {
      write_byte_tokenizer(tmp.string());
    }
    write_text_atomic((tmp / "generation_config.json").string(),
                      "{\n  \"bos_token_id\": " + std::to_string(c.bos_token_id) +
                          ",\n  \"eos_token_id\": " + std::to_string(c.eos_token_id) + "\n}\n");
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(tmp, out);
    log_info("wrote ", a.output_dir, ": ", c.model_type, ", ", c.num_layers, " layers, hidden ", c.hidden_size,
             ", ", c.parameter_count(), " parameters (random init, seed ", a.seed, "), ",
             tokenizer ? tokenizer->kind() + " tokenizer of " + std::to_string(c.vocab_size) + " pieces"
                       : std::string("byte-level tokenizer"));
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}
}  // namespace

void register_init_model(CLI::App& app) {
  auto a = std::make_shared<InitArgs>();
  CLI::App* cmd = app.add_subcommand("init-model", "Write a randomly initialised Llama-family model (HF layout)");
  cmd->add_option("-o,--output-dir", a->output_dir, "Directory to create")->required();
  cmd->add_option("--preset", a->preset, "Size preset: tiny (~0.2 M parameters) or small (~6 M)")
      ->capture_default_str()
      ->check(CLI::IsMember({"tiny", "small"}));
  cmd->add_option("--model-type", a->model_type, "Architecture written to config.json")
      ->capture_default_str()
      ->check(CLI::IsMember({"llama", "mistral", "qwen2"}));
  cmd->add_option("--hidden-size", a->hidden_size, "Override the preset's hidden size")->check(CLI::PositiveNumber);
  cmd->add_option("--intermediate-size", a->intermediate_size, "Override the SwiGLU width")->check(CLI::PositiveNumber);
  cmd->add_option("--num-layers", a->num_layers, "Override the number of layers")->check(CLI::PositiveNumber);
  cmd->add_option("--num-heads", a->num_heads, "Override the attention heads")->check(CLI::PositiveNumber);
  cmd->add_option("--num-kv-heads", a->num_kv_heads, "Override the key/value heads (grouped-query attention)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--context", a->context, "Maximum sequence length")->check(CLI::PositiveNumber);
  cmd->add_option("--dtype", a->dtype, "Storage dtype of the weights")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  cmd->add_option("-s,--seed", a->seed, "Initialisation seed")->capture_default_str();
  cmd->add_option("--tokenizer", a->tokenizer_dir, "Tokenizer directory to use (default: a byte-level tokenizer)");
  cmd->add_flag("!--untie-embeddings", a->tie, "Give the model a separate output head");
  cmd->add_flag("--overwrite", a->overwrite, "Replace an existing non-empty output directory");
  cmd->callback([a] { run_init(*a); });
}

}  // namespace sculpt::cli
