// Training examples as token sequences with a per-token target mask, built from segments of
// text (prompt, completion, chat turns) and truncated to a token budget.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/text/tokenizer.h"

namespace sculpt {

struct Example {
  std::vector<int32_t> tokens;  // the whole sequence, BOS and EOS included
  std::vector<uint8_t> target;  // 1 where tokens[i] is to be predicted (completion, assistant turns, EOS)
  std::string prompt_text;      // text before the first target (for generation-based evaluation)
  std::string target_text;      // the first target segment's text (e.g. the label)
  int64_t prompt_tokens_cut = 0;  // > 0 when the prompt was truncated to fit
};

struct DatasetStats {
  int64_t records = 0;          // examples kept
  int64_t skipped = 0;          // bad records skipped (--skip-bad-records)
  int64_t truncated = 0;        // examples whose prompt was cut to fit
  int64_t prompt_tokens_cut = 0;
  int64_t target_tokens = 0;
};

struct Dataset {
  std::string source;
  std::vector<Example> examples;
  DatasetStats stats;
};

// A piece of an example: literal token ids (BOS/EOS) or text to tokenize.
struct Segment {
  std::string text;
  std::vector<int32_t> ids;  // used instead of text when non-empty
  bool target = false;
};

struct ExampleOptions {
  int64_t max_seq_len = 512;
  bool add_eos = true;  // after the last target segment
  bool add_bos = true;  // when the tokenizer adds one (a model's own chat template writes its own)
};

// Tokenizes the segments, prepends BOS (when the tokenizer adds one) and appends EOS to the last
// target segment. When the sequence exceeds max_seq_len, prompt tokens (before the first target)
// are cut from the middle: the first ones (instruction) and the last kCueTokens (the question cue,
// e.g. "Answer:") are kept. Throws Error naming `where` when the targets alone do not fit.
Example build_example(const Tokenizer& tokenizer, const std::vector<Segment>& segments, const ExampleOptions& options,
                      const std::string& where, DatasetStats& stats);

constexpr int64_t kCueTokens = 16;

// Removes `excess` tokens from the middle of ids[begin, end), keeping its first tokens and its
// last min(kCueTokens, …) ones. Returns the index where the removed run started.
int64_t cut_middle(std::vector<int32_t>& ids, int64_t begin, int64_t end, int64_t excess);

// Recomputes the example counts of `stats` (records, truncated, tokens cut, target tokens).
void recount(const std::vector<Example>& examples, DatasetStats& stats);

}  // namespace sculpt
