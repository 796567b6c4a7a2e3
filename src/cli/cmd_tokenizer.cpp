// sculpt tokenizer train: a SentencePiece vocabulary from text files or JSON(L) text fields.
// sculpt tokenizer stats: token counts per sample and per label of task data under a tokenizer.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/data/readers.h"
#include "sculpt/data/text_corpus.h"
#include "sculpt/text/sentencepiece_tokenizer.h"
#include "sculpt/text/tokenizer_trainer.h"

namespace sculpt::cli {

namespace fs = std::filesystem;

namespace {
struct TokTrainArgs {
  std::vector<std::string> inputs;
  std::string text_field = "text", output_dir;
  TokenizerTrainOptions options;
  int64_t max_lines = 2000000;
  uint64_t seed = 0;
  bool overwrite = false;
};

void run_tokenizer_train(const TokTrainArgs& a) {
  const fs::path out(a.output_dir);
  if (fs::exists(out)) {
    check(fs::is_directory(out), "exists and is not a directory", a.output_dir, "choose another --output-dir");
    check(a.overwrite || fs::is_empty(out), "directory exists and is not empty", a.output_dir,
          "pass --overwrite to replace it");
  }
  const auto t0 = std::chrono::steady_clock::now();
  const TextCorpus corpus = read_text_corpus(a.inputs, a.text_field);
  const std::vector<std::string> lines = corpus_lines(corpus, a.max_lines, a.seed);
  int64_t bytes = 0;
  for (const auto& l : lines) bytes += static_cast<int64_t>(l.size());
  log_info("tokenizer training: ", corpus.sources.size(), " files, ", corpus.documents.size(), " documents, ",
           lines.size(), " lines (", bytes / 1000000.0, " MB); ", a.options.model_type, " vocabulary of ",
           a.options.vocab_size);
  TokenizerTrainOptions options = a.options;
  options.threads = num_threads();
  const std::string proto = train_sentencepiece(lines, options);

  const fs::path tmp = out.string() + ".tmp-" + std::to_string(::getpid());
  fs::remove_all(tmp);
  try {
    fs::create_directories(tmp);
    write_sentencepiece_dir(tmp.string(), proto);
    // Round trip and compression over every training line, with the files as written.
    SentencePieceTokenizer tok((tmp / "tokenizer.model").string());
    int64_t tokens = 0, mismatches = 0;
    std::string first_mismatch;
#pragma omp parallel for reduction(+ : tokens, mismatches) schedule(dynamic, 256)
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto ids = tok.encode(lines[i]);
      tokens += static_cast<int64_t>(ids.size());
      if (tok.decode(ids) != sentencepiece_round_trip(lines[i])) {
        ++mismatches;
#pragma omp critical
        if (first_mismatch.empty()) first_mismatch = lines[i].substr(0, 80);
      }
    }
    check(mismatches == 0,
          std::to_string(mismatches) + " training lines do not round-trip, e.g. \"" + first_mismatch + "\"",
          a.output_dir, "this is a bug in sculpt's tokenizer settings");
    if (fs::exists(out)) fs::remove_all(out);
    fs::rename(tmp, out);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char text[256];
    std::snprintf(text, sizeof text, "%lld pieces; %lld lines round-trip; %.2f bytes per token; %.0f s",
                  static_cast<long long>(tok.vocab_size()), static_cast<long long>(lines.size()),
                  static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(tokens, 1)), secs);
    log_info("wrote ", a.output_dir, ": ", text);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
}

struct TokStatsArgs {
  std::string tokenizer, split = "train", data_format = "auto";
  std::vector<std::string> data;
  int64_t context = 512;
};

int64_t percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

void run_tokenizer_stats(const TokStatsArgs& a) {
  auto tok = load_tokenizer(a.tokenizer);
  std::printf("tokenizer %s (%s, %lld pieces); split %s; inputs include the instruction and options\n\n",
              a.tokenizer.c_str(), tok->kind().c_str(), static_cast<long long>(tok->vocab_size()), a.split.c_str());
  std::printf("| data | samples | input tokens p50 / p90 / p99 / max | input + label > %lld | label tokens mean / max (+EOS) "
              "| round-trip failures |\n|---|---|---|---|---|---|\n",
              static_cast<long long>(a.context));
  for (const std::string& path : a.data) {
    ReaderOptions ro;
    ro.format = data_format_from_name(a.data_format);
    ro.split = a.split;
    ro.example.max_seq_len = int64_t{1} << 40;  // measure, never cut
    const Dataset d = read_dataset(path, *tok, ro);
    std::vector<int64_t> inputs, labels;
    int64_t over = 0, failures = 0;
    for (const Example& e : d.examples) {
      int64_t targets = 0;
      for (uint8_t t : e.target) targets += t;
      const auto input = static_cast<int64_t>(e.tokens.size()) - targets;
      inputs.push_back(input);
      labels.push_back(targets);
      over += input + targets > a.context ? 1 : 0;
      failures += tok->decode(tok->encode(e.prompt_text)) != sentencepiece_round_trip(e.prompt_text) ? 1 : 0;
    }
    double mean_label = 0;
    for (int64_t l : labels) mean_label += static_cast<double>(l);
    mean_label /= static_cast<double>(std::max<size_t>(labels.size(), 1));
    std::printf("| %s | %zu | %lld / %lld / %lld / %lld | %.2f %% | %.2f / %lld | %lld |\n", d.source.c_str(),
                d.examples.size(), static_cast<long long>(percentile(inputs, 0.5)),
                static_cast<long long>(percentile(inputs, 0.9)), static_cast<long long>(percentile(inputs, 0.99)),
                static_cast<long long>(percentile(inputs, 1.0)),
                100.0 * static_cast<double>(over) / static_cast<double>(std::max<size_t>(d.examples.size(), 1)),
                mean_label, static_cast<long long>(percentile(labels, 1.0)), static_cast<long long>(failures));
  }
}
}  // namespace

void register_tokenizer(CLI::App& app) {
  CLI::App* group = app.add_subcommand("tokenizer", "Train a tokenizer or measure token counts");
  group->require_subcommand(1);

  auto t = std::make_shared<TokTrainArgs>();
  CLI::App* train = group->add_subcommand("train", "Train a SentencePiece tokenizer (BPE or unigram, byte fallback)");
  train->add_option("-i,--input", t->inputs, "Text files (.txt: one document each), .jsonl/.json records, or directories")
      ->required();
  train->add_option("--text-field", t->text_field, "Field holding the text in .jsonl/.json records")->capture_default_str();
  train->add_option("-o,--output-dir", t->output_dir, "Directory for tokenizer.model and its config files")->required();
  train->add_option("--model-type", t->options.model_type, "bpe or unigram")
      ->capture_default_str()
      ->check(CLI::IsMember({"bpe", "unigram"}));
  train->add_option("--vocab-size", t->options.vocab_size, "Pieces in the vocabulary (specials and 256 bytes included)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{260}, int64_t{1} << 20));
  train->add_option("--character-coverage", t->options.character_coverage,
                    "Share of characters given their own piece; the rest use byte fallback")
      ->capture_default_str()
      ->check(CLI::Range(0.9, 1.0));
  train->add_option("--max-lines", t->max_lines, "Train on a seeded sample of at most N lines (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  train->add_option("-s,--seed", t->seed, "Seed of the line sample")->capture_default_str();
  train->add_flag("--overwrite", t->overwrite, "Replace an existing non-empty output directory");
  train->callback([t] { run_tokenizer_train(*t); });

  auto s = std::make_shared<TokStatsArgs>();
  CLI::App* stats = group->add_subcommand("stats", "Token counts per sample and per label of task data");
  stats->add_option("-t,--tokenizer", s->tokenizer, "Model directory or tokenizer file")->required();
  stats->add_option("-d,--data", s->data, "Task files or CL_Benchmark task directories")->required();
  stats->add_option("--split", s->split, "CL_Benchmark split")->capture_default_str();
  stats->add_option("--data-format", s->data_format, "auto, jsonl, chat or cl-benchmark")->capture_default_str();
  stats->add_option("--context", s->context, "Context length the inputs are compared with")->capture_default_str();
  stats->callback([s] { run_tokenizer_stats(*s); });
}

}  // namespace sculpt::cli
