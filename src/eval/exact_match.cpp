#include "sculpt/eval/exact_match.h"

#include <algorithm>
#include <cctype>

#include "sculpt/model/generate.h"

namespace sculpt {

std::string normalize_answer(const std::string& text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  std::string out = text.substr(b, e - b);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {
// Tokens generated per prompt: the longest target's and two more.
int64_t new_tokens_for(const std::vector<Example>& examples) {
  int64_t longest_target = 0;
  for (const auto& e : examples) {
    int64_t n = 0;
    for (uint8_t t : e.target) n += t;
    longest_target = std::max(longest_target, n);
  }
  return longest_target + 2;
}

int64_t first_target(const Example& e) { return std::find(e.target.begin(), e.target.end(), 1) - e.target.begin(); }
}  // namespace

int64_t exact_match_floats(const ModelConfig& config, const std::vector<Example>& examples, int64_t batch,
                           Precision precision, int threads) {
  const int64_t new_tokens = new_tokens_for(examples), context = config.max_position_embeddings;
  int64_t peak = 0;
  for (size_t start = 0; start < examples.size(); start += static_cast<size_t>(batch)) {
    const size_t end = std::min(examples.size(), start + static_cast<size_t>(batch));
    int64_t longest = 1;  // a prompt's length after exact_match cuts it to fit the context
    for (size_t i = start; i < end; ++i)
      longest = std::max(longest, std::min(first_target(examples[i]), context - new_tokens));
    peak = std::max(peak, generation_floats(config, static_cast<int64_t>(end - start), longest, new_tokens, precision,
                                            threads));
  }
  return peak;
}

ExactMatchResult exact_match(const LlamaModel& model, const Tokenizer& tokenizer, const std::vector<Example>& examples,
                             int64_t batch, Precision precision) {
  ExactMatchResult result;
  GenerationOptions o;
  o.max_new_tokens = new_tokens_for(examples);
  o.precision = precision;
  if (tokenizer.eos_id() >= 0) o.stop_tokens.push_back(tokenizer.eos_id());
  const int64_t context = model.config().max_position_embeddings;
  for (size_t start = 0; start < examples.size(); start += static_cast<size_t>(batch)) {
    const size_t end = std::min(examples.size(), start + static_cast<size_t>(batch));
    std::vector<std::vector<int32_t>> prompts;
    for (size_t i = start; i < end; ++i) {
      const Example& e = examples[i];
      std::vector<int32_t> prompt(e.tokens.begin(), e.tokens.begin() + first_target(e));
      // Leave room to generate: cut the prompt's middle as the data readers do.
      const int64_t excess = static_cast<int64_t>(prompt.size()) + o.max_new_tokens - context;
      if (excess > 0) cut_middle(prompt, tokenizer.adds_bos() ? 1 : 0, static_cast<int64_t>(prompt.size()), excess);
      prompts.push_back(std::move(prompt));
    }
    auto outputs = generate(model, prompts, o);
    for (size_t i = start; i < end; ++i) {
      const std::string prediction = normalize_answer(tokenizer.decode(outputs[i - start], /*skip_special=*/true));
      const bool hit = prediction == normalize_answer(examples[i].target_text);
      result.correct += hit;
      result.matched += hit ? '1' : '0';
      ++result.total;
      result.predictions.push_back(prediction);
    }
  }
  return result;
}

}  // namespace sculpt
