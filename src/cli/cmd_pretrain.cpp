// sculpt pretrain: language-model training on plain text. Documents are packed into sequences
// of the context length (see data/text_corpus.h), a seeded share of documents is held out, and
// the held-out loss and perplexity are evaluated every --eval-steps; everything else (schedule,
// checkpoints, resume, progress, metrics.jsonl, final HF export) is the training engine's.
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/run_lock.h"
#include "sculpt/core/threads.h"
#include "sculpt/data/text_corpus.h"
#include "sculpt/eval/loss.h"
#include "sculpt/train/trainer.h"
#include "train_flags.h"

namespace sculpt::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
struct PretrainArgs {
  TrainOptions train;
  std::vector<std::string> data;
  std::string text_field = "text";
  int64_t context = 0;
  double held_out_fraction = 0.005;
  int64_t eval_sequences = 128;
  int threads = 0;
  PretrainArgs() {
    // Pretraining defaults (small Llama models): higher peak rate, warm-up, decay 0.1.
    train.learning_rate = 1e-3f;
    train.warmup_steps = 100;
    train.weight_decay = 0.1f;
    train.effective_batch_size = 16;
    train.save_steps = 100;
    train.eval_steps = 100;
    train.logging_steps = 10;
  }
};

void run_pretrain(PretrainArgs& a) {
  set_num_threads(a.threads);
  check(!fs::exists(a.train.output_dir) || fs::is_directory(a.train.output_dir), "exists and is not a directory",
        a.train.output_dir, "choose another --output-dir");
  LlamaModel model = load_model(a.train.model_path);
  auto tokenizer = load_tokenizer(a.train.model_path);
  check(tokenizer->vocab_size() <= model.config().vocab_size,
        "tokenizer has " + std::to_string(tokenizer->vocab_size()) + " pieces but the model's vocabulary is " +
            std::to_string(model.config().vocab_size),
        a.train.model_path, "initialise the model with this tokenizer (sculpt init-model --tokenizer DIR)");
  const int64_t context = a.context > 0 ? a.context : model.config().max_position_embeddings;
  check(context <= model.config().max_position_embeddings,
        "--context " + std::to_string(context) + " exceeds the model's " +
            std::to_string(model.config().max_position_embeddings) + " positions",
        "--context", "lower --context");

  const TextCorpus corpus = read_text_corpus(a.data, a.text_field);
  const PackedCorpus packed = pack_corpus(corpus, *tokenizer, context, a.held_out_fraction, a.train.seed);
  json sources = json::array();
  for (size_t s = 0; s < corpus.sources.size(); ++s)
    sources.push_back({{"file", corpus.sources[s]},
                       {"documents", packed.documents_per_source[s]},
                       {"tokens", packed.tokens_per_source[s]}});
  const json corpus_json = {{"sources", sources},
                            {"context", context},
                            {"train_sequences", packed.train.size()},
                            {"train_tokens", packed.train_tokens},
                            {"held_out_sequences", packed.held_out.size()},
                            {"held_out_tokens", packed.held_out_tokens},
                            {"dropped_tail_tokens", packed.dropped_tail_tokens}};
  const RunLock lock(a.train.output_dir, "pretrain");  // creates the directory; training re-enters it
  write_text_atomic((fs::path(a.train.output_dir) / "corpus.json").string(), corpus_json.dump(2) + "\n");
  // The held-out documents themselves: general text the model never trained on, for later
  // retention measurements (sculpt cl --general-eval).
  std::string held_text;
  for (int64_t i : packed.held_out_documents)
    held_text += json{{"text", corpus.documents[static_cast<size_t>(i)].text}}.dump() + "\n";
  write_text_atomic((fs::path(a.train.output_dir) / "held_out.jsonl").string(), held_text);
  log_info("corpus: ", corpus.sources.size(), " files, ", corpus.documents.size(), " documents; ",
           packed.train.size(), " training sequences (", packed.train_tokens, " tokens), ", packed.held_out.size(),
           " held out (", packed.held_out_tokens, " tokens)");

  // Evaluate on the first eval_sequences held-out sequences (all when 0).
  std::vector<Example> eval_set = packed.held_out;
  if (a.eval_sequences > 0 && static_cast<int64_t>(eval_set.size()) > a.eval_sequences)
    eval_set.resize(static_cast<size_t>(a.eval_sequences));
  EvalHook hook;
  if (!eval_set.empty()) {
    constexpr int64_t kLossRows = 8;  // held-out sequences per forward pass
    hook.run = [&](int64_t, const LlamaModel& m) {
      const LossResult r = held_out_loss(m, eval_set, kLossRows, a.train.precision);
      return json{{"eval_loss", r.loss}, {"eval_perplexity", r.perplexity()}, {"eval_tokens", r.target_tokens}};
    };
    hook.memory = {"in-run evaluation",
                   4 * held_out_loss_floats(model.config(), eval_set, kLossRows, a.train.precision, num_threads()),
                   "held-out loss of " + std::to_string(kLossRows) + " sequences at a time"};
  } else {
    log_info("no held-out sequences (raise --held-out-fraction to evaluate)");
  }

  std::string data_key;
  for (const auto& p : a.data) data_key += fs::absolute(p).string() + ";";
  json resolved = train_options_json(a.train);
  resolved.update({{"command", "pretrain"},
                   {"data", data_key},
                   {"text_field", a.text_field},
                   {"context", context},
                   {"held_out_fraction", a.held_out_fraction},
                   {"eval_sequences", eval_set.size()},
                   {"save_dtype", a.train.save_dtype.empty() ? dtype_name(model.source_dtype) : a.train.save_dtype},
                   {"threads", num_threads()},
                   {"tokenizer", tokenizer->kind()},
                   {"train_tokens", packed.train_tokens}});
  install_stop_handlers();
  TrainResult r = run_training(model, *tokenizer, packed.train, a.train, resolved, hook);
  if (r.interrupted) std::exit(143);
}
}  // namespace

void register_pretrain(CLI::App& app) {
  auto a = std::make_shared<PretrainArgs>();
  CLI::App* cmd = app.add_subcommand("pretrain", "Train a language model on plain text (packed sequences)");
  TrainOptions& t = a->train;
  cmd->add_option("-m,--model", t.model_path, "Model to train (e.g. from sculpt init-model --tokenizer)")->required();
  cmd->add_option("-d,--data", a->data, "Text: .txt files (one document each), .jsonl/.json records, or directories")
      ->required();
  cmd->add_option("-o,--output-dir", t.output_dir, "Where checkpoints, metrics and the final model go")->required();
  cmd->add_option("--text-field", a->text_field, "Field holding the text in .jsonl/.json records")->capture_default_str();
  cmd->add_option("--context", a->context, "Tokens per sequence (default: the model's positions)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--held-out-fraction", a->held_out_fraction, "Share of documents held out for perplexity")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.5));
  cmd->add_option("--eval-sequences", a->eval_sequences, "Held-out sequences evaluated each time (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  add_train_option_flags(cmd, t);
  cmd->add_option("--threads", a->threads, "Threads for compute (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->callback([a] { run_pretrain(*a); });
}

}  // namespace sculpt::cli
