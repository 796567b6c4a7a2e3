// sculpt train: fine-tune a model on a task file (plain fine-tuning; --method arrives with OSFT).
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "osft_flags.h"
#include "train_flags.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/memory.h"
#include "sculpt/core/threads.h"
#include "sculpt/data/readers.h"
#include "sculpt/eval/exact_match.h"
#include "sculpt/eval/loss.h"
#include "sculpt/train/trainer.h"

namespace sculpt::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
struct TrainArgs {
  TrainOptions train;
  std::string data, tokenizer, data_format = "auto", chat_template = "auto", eval_data, eval_split = "test";
  int64_t max_seq_len = 512, max_train_samples = 0, eval_samples = 200;
  bool skip_bad_records = false;
  int threads = 0;
  std::string method = "plain";
  OsftFlags osft;
};

void run_train(TrainArgs& a) {
  set_num_threads(a.threads);
  check(!fs::exists(a.train.output_dir) || fs::is_directory(a.train.output_dir), "exists and is not a directory",
        a.train.output_dir, "choose another --output-dir");
  LlamaModel model = load_model(a.train.model_path);
  auto tokenizer = load_tokenizer(a.train.model_path, a.tokenizer);
  ReaderOptions ro;
  ro.format = data_format_from_name(a.data_format);
  ro.chat_template = chat_template_from_name(a.chat_template);
  ro.model_path = a.train.model_path;
  ro.example.max_seq_len = std::min(a.max_seq_len, model.config().max_position_embeddings);
  ro.skip_bad_records = a.skip_bad_records;
  ro.max_samples = a.max_train_samples;
  ro.seed = a.train.seed;
  Dataset train = read_dataset(a.data, *tokenizer, ro);
  log_info("data: ", train.source, ": ", train.stats.records, " examples, ", train.stats.target_tokens,
           " target tokens; ", train.stats.truncated, " prompts truncated (", train.stats.prompt_tokens_cut,
           " tokens cut); ", train.stats.skipped, " records skipped");

  Dataset eval;
  if (!a.eval_data.empty()) {
    ReaderOptions eo = ro;
    eo.split = a.eval_split;
    eo.max_samples = a.eval_samples;
    eval = read_dataset(a.eval_data, *tokenizer, eo);
    log_info("eval data: ", eval.source, ": ", eval.examples.size(), " examples");
  }
  EvalHook hook;
  if (!eval.examples.empty()) {
    constexpr int64_t kGenerationBatch = 16;  // prompts decoded together
    const int64_t loss_rows = a.train.effective_batch_size;
    hook.run = [&, loss_rows](int64_t, const LlamaModel& m) {
      ExactMatchResult em = exact_match(m, *tokenizer, eval.examples, kGenerationBatch, a.train.precision);
      // The decoding's freed heap (its bf16 copies, KV cache) goes back before the loss's graph
      // takes its room: the plan counts the larger of the two, not both.
      release_free_memory();
      return json{{"eval_loss", held_out_loss(m, eval.examples, loss_rows, a.train.precision).loss},
                  {"eval_exact_match", em.accuracy()},
                  {"eval_samples", em.total}};
    };
    // The two run one after the other: the larger counts.
    const ModelConfig& c = model.config();
    const int64_t generation = exact_match_floats(c, eval.examples, kGenerationBatch, a.train.precision, num_threads());
    const int64_t loss = held_out_loss_floats(c, eval.examples, loss_rows, a.train.precision, num_threads());
    hook.memory = {"in-run evaluation", 4 * std::max(generation, loss),
                   generation >= loss ? "greedy decoding of " + std::to_string(kGenerationBatch) + " prompts at a time"
                                      : "held-out loss of " + std::to_string(loss_rows) + " sequences at a time"};
  }

  json resolved = train_options_json(a.train);
  resolved.update({{"command", "train"},
                   {"data", fs::absolute(a.data).string()},
                   {"data_format", a.data_format},
                   {"chat_template", a.chat_template},
                   {"max_seq_len", ro.example.max_seq_len},
                   {"save_dtype", a.train.save_dtype.empty() ? dtype_name(model.source_dtype) : a.train.save_dtype},
                   {"max_train_samples", a.max_train_samples},
                   {"eval_data", a.eval_data},
                   {"eval_samples", a.eval_samples},
                   {"threads", num_threads()},
                   {"tokenizer", tokenizer->kind()},
                   {"train_examples", train.stats.records},
                   {"truncated_examples", train.stats.truncated},
                   {"skipped_records", train.stats.skipped}});
  resolved["method"] = a.method;
  std::unique_ptr<OsftStrategy> osft;
  Dataset calibration;
  if (a.method == "osft") {
    OsftOptions o = a.osft.resolve();
    if (o.rank.policy == RankPolicyKind::adaptive) {
      ReaderOptions co = ro;
      co.max_samples = a.osft.options.calibration_samples;
      const std::string source = a.osft.calibration_data.empty() ? a.data : a.osft.calibration_data;
      if (a.osft.calibration_data.empty())
        log_info("adaptive ranks: calibrating on the training data (pass --calibration-data for the previous task's)");
      calibration = read_dataset(source, *tokenizer, co);
      o.calibration = &calibration.examples;
    }
    osft = std::make_unique<OsftStrategy>(o);
    resolved["osft"] = {{"mode", osft_mode_name(o.mode)},
                        {"projection", projection_name(o.projection)},
                        {"rank_policy", RankPolicy(o.rank).describe()},
                        {"target_patterns", o.target_patterns},
                        {"freeze_non_targets", o.freeze_non_targets}};
  } else {
    check(a.osft.unfreeze_opt->count() == 0 && a.osft.effective_opt->count() == 0,
          "OSFT rank options given without --method osft", "train", "add --method osft");
  }
  install_stop_handlers();
  TrainResult r = run_training(model, *tokenizer, train.examples, a.train, resolved, hook, osft.get());
  if (osft) osft->write_task_files(a.train.output_dir);
  if (r.interrupted) std::exit(143);
}
}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* cmd = app.add_subcommand("train", "Fine-tune a model on a task (JSONL prompt/completion, chat, CL_Benchmark)");
  TrainOptions& t = a->train;
  cmd->add_option("-m,--model", t.model_path, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("-d,--data", a->data, "Training data: JSONL file or a CL_Benchmark task directory")->required();
  cmd->add_option("-o,--output-dir", t.output_dir, "Where checkpoints, metrics and the final model go")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "Tokenizer file; default: found beside the model");
  cmd->add_option("--method", a->method, "plain (full fine-tuning) or osft (Orthogonal Subspace Fine-Tuning)")
      ->capture_default_str()
      ->check(CLI::IsMember({"plain", "osft"}));
  cmd->add_option("--data-format", a->data_format, "auto, jsonl, chat or cl-benchmark")->capture_default_str();
  cmd->add_option("--chat-template", a->chat_template, "auto (from the model), llama-2, llama-3, chatml or plain")
      ->capture_default_str();
  add_train_option_flags(cmd, t);
  cmd->add_option("--max-seq-len", a->max_seq_len, "Tokens per example; prompts are cut to fit, targets never")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-train-samples", a->max_train_samples, "Use a seeded random subset of N training examples")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--eval-data", a->eval_data, "Held-out data (file or CL_Benchmark task directory)");
  cmd->add_option("--eval-split", a->eval_split, "CL_Benchmark split for --eval-data")->capture_default_str();
  cmd->add_option("--eval-samples", a->eval_samples, "Held-out examples evaluated (seeded subset)")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--skip-bad-records", a->skip_bad_records, "Skip and count malformed records instead of failing");
  cmd->add_option("--threads", a->threads, "Threads for compute (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  add_osft_flags(cmd, a->osft);
  cmd->callback([a] { run_train(*a); });
}

}  // namespace sculpt::cli
