// sculpt eval: held-out loss, perplexity and (for tasks with targets) exact match of a model on
// a data file or CL_Benchmark task, printed as one JSON line.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "train_flags.h"
#include "sculpt/core/threads.h"
#include "sculpt/data/readers.h"
#include "sculpt/eval/exact_match.h"
#include "sculpt/eval/loss.h"

namespace sculpt::cli {

namespace {
struct EvalArgs {
  std::string model, data, tokenizer, split = "test", data_format = "auto";
  int64_t samples = 200, max_seq_len = 512;
  bool no_generation = false;
  uint64_t seed = 42;
  int threads = 0;
  Precision precision = Precision::fp32;
};

void run_eval(const EvalArgs& a) {
  set_num_threads(a.threads);
  LlamaModel model = load_model(a.model);
  auto tokenizer = load_tokenizer(a.model, a.tokenizer);
  ReaderOptions ro;
  ro.format = data_format_from_name(a.data_format);
  ro.model_path = a.model;
  ro.split = a.split;
  ro.example.max_seq_len = std::min(a.max_seq_len, model.config().max_position_embeddings);
  ro.max_samples = a.samples;
  ro.seed = a.seed;
  Dataset d = read_dataset(a.data, *tokenizer, ro);
  LossResult loss = held_out_loss(model, d.examples, 8, a.precision);
  nlohmann::json out = {{"model", a.model},
                        {"data", d.source},
                        {"samples", d.examples.size()},
                        {"loss", loss.loss},
                        {"perplexity", loss.perplexity()},
                        {"target_tokens", loss.target_tokens},
                        {"precision", precision_name(a.precision)}};
  if (!a.no_generation) {
    ExactMatchResult em = exact_match(model, *tokenizer, d.examples, 16, a.precision);
    out["exact_match"] = em.accuracy();
  }
  std::printf("%s\n", out.dump().c_str());
}
}  // namespace

void register_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Held-out loss, perplexity and exact match of a model on a task");
  cmd->add_option("-m,--model", a->model, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("-d,--data", a->data, "JSONL file or CL_Benchmark task directory")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "Tokenizer file; default: found beside the model");
  cmd->add_option("--split", a->split, "CL_Benchmark split")->capture_default_str();
  cmd->add_option("--data-format", a->data_format, "auto, jsonl, chat or cl-benchmark")->capture_default_str();
  cmd->add_option("--eval-samples", a->samples, "Examples evaluated (seeded subset; 0 = all)")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-seq-len", a->max_seq_len, "Tokens per example")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("-s,--seed", a->seed, "Seed of the subset")->capture_default_str();
  cmd->add_flag("--no-generation", a->no_generation, "Only loss and perplexity (for plain text)");
  cmd->add_option("--threads", a->threads, "Threads (0 = all cores)")->capture_default_str()->check(CLI::NonNegativeNumber);
  add_precision_flag(cmd, a->precision);
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace sculpt::cli
