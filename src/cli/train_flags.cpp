#include "train_flags.h"

#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"

namespace sculpt::cli {

void add_train_option_flags(CLI::App* cmd, TrainOptions& t) {
  cmd->add_option("--learning-rate", t.learning_rate, "Peak learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--num-epochs", t.num_epochs, "Passes over the data")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-steps", t.max_steps, "Optimizer steps (overrides --num-epochs)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--warmup-steps", t.warmup_steps, "Linear warm-up steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--lr-scheduler", t.lr_scheduler, "constant, linear or cosine")
      ->capture_default_str()
      ->check(CLI::IsMember({"constant", "linear", "cosine"}));
  cmd->add_option("--effective-batch-size", t.effective_batch_size, "Examples per optimizer step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-tokens-per-batch", t.max_tokens_per_batch,
                  "Padded tokens per micro-batch; larger steps accumulate gradients (default: no accumulation)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--weight-decay", t.weight_decay, "AdamW decoupled weight decay")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--adam-beta1", t.beta1, "AdamW β1")->capture_default_str()->check(CLI::Range(0.f, 0.999999f));
  cmd->add_option("--adam-beta2", t.beta2, "AdamW β2")->capture_default_str()->check(CLI::Range(0.f, 0.999999f));
  cmd->add_option("--adam-epsilon", t.epsilon, "AdamW ε")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-grad-norm", t.max_grad_norm, "Global gradient-norm clip (0: off)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("-s,--seed", t.seed, "Seed for shuffling and sampling")->capture_default_str();
  cmd->add_option("--save-steps", t.save_steps, "Checkpoint every N steps (0: only the final model)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--save-total-limit", t.save_total_limit, "Checkpoints kept (0: all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--resume", t.resume, "'auto' (newest complete checkpoint in --output-dir) or a checkpoint directory")
      ->expected(0, 1)
      ->default_str("auto");
  cmd->add_option("--save-dtype", t.save_dtype, "dtype of the exported weights (default: the input's)")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}));
  cmd->add_option("--max-shard-size", t.max_shard_size,
                  "Largest safetensors file of the export; above it, shards plus an index (as transformers' max_shard_size: 500MB, 2GB, 10KiB)")
      ->capture_default_str()
      ->check(byte_size_validator("--max-shard-size", false));
  cmd->add_option("--memory-limit", t.memory_limit,
                  "Refuse at start-up a run whose memory plan exceeds this: auto (the cgroup limit, else physical "
                  "memory) or a size such as 8GiB")
      ->capture_default_str()
      ->check(byte_size_validator("--memory-limit", true));
  add_precision_flag(cmd, t.precision);
  cmd->add_option("--logging-steps", t.logging_steps, "Print a progress line every N steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-steps", t.eval_steps, "Evaluate every N steps (and always at the end)")->check(CLI::NonNegativeNumber);
}

void add_precision_flag(CLI::App* cmd, Precision& precision) {
  cmd->add_option_function<std::string>(
         "--precision", [&precision](const std::string& name) { precision = parse_precision(name); },
         "Arithmetic of the matrix products: fp32, or bf16 (bf16 operands, fp32 accumulation, fp32 master weights "
         "and optimizer state)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->default_str("fp32");
}

CLI::Validator byte_size_validator(const std::string& option, bool allow_auto) {
  return CLI::Validator(
      [option, allow_auto](const std::string& s) {
        if (allow_auto && s == "auto") return std::string();
        try {
          parse_byte_size(s, option);
          return std::string();
        } catch (const Error& e) {
          return e.what_failed() + " (hint: " + e.hint() + ")";
        }
      },
      allow_auto ? "SIZE|auto" : "SIZE");
}

nlohmann::json train_options_json(const TrainOptions& t) {
  nlohmann::json j = {{"model", t.model_path},
                      {"output_dir", t.output_dir},
                      {"learning_rate", t.learning_rate},
                      {"num_epochs", t.num_epochs},
                      {"max_steps", t.max_steps},
                      {"warmup_steps", t.warmup_steps},
                      {"lr_scheduler", t.lr_scheduler},
                      {"effective_batch_size", t.effective_batch_size},
                      {"max_tokens_per_batch", t.max_tokens_per_batch},
                      {"weight_decay", t.weight_decay},
                      {"beta1", t.beta1},
                      {"beta2", t.beta2},
                      {"epsilon", t.epsilon},
                      {"max_grad_norm", t.max_grad_norm},
                      {"seed", t.seed},
                      {"save_steps", t.save_steps},
                      {"max_shard_size", t.max_shard_size},
                      {"save_total_limit", t.save_total_limit},
                      {"eval_steps", t.eval_steps},
                      {"memory_limit", t.memory_limit}};
  // Only a non-default precision is recorded: an experiment begun before the flag existed still
  // matches its experiment.json and resumes.
  if (t.precision != Precision::fp32) j["precision"] = precision_name(t.precision);
  return j;
}

}  // namespace sculpt::cli
