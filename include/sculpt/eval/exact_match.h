// Generation-based exact match (the O-LoRA protocol): greedy decoding from each example's
// prompt, compared with its target after trimming and lower-casing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

struct ExactMatchResult {
  int64_t correct = 0, total = 0;
  double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
  std::vector<std::string> predictions;  // decoded, trimmed
  std::string matched;                   // per example, in order: '1' correct, '0' not (paired bootstraps)
};

std::string normalize_answer(const std::string& text);  // trim whitespace, lower-case ASCII

// Greedy generation of up to (longest target in tokens + 2) tokens, `batch` prompts at a time, in
// `precision` (model/precision.h).
ExactMatchResult exact_match(const LlamaModel& model, const Tokenizer& tokenizer, const std::vector<Example>& examples,
                             int64_t batch = 16, Precision precision = Precision::fp32);

// Floats exact_match holds at its peak (its largest batch's generation), for the memory plan of a
// run that evaluates as it trains.
int64_t exact_match_floats(const ModelConfig& config, const std::vector<Example>& examples, int64_t batch,
                           Precision precision, int threads);

}  // namespace sculpt
