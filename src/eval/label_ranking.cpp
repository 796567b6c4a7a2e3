#include "sculpt/eval/label_ranking.h"

#include <algorithm>
#include <utility>

#include "sculpt/backend/backend.h"
#include "sculpt/core/error.h"
#include "sculpt/model/forward.h"

namespace sculpt {

namespace {
// [first target, end of that run of targets): the label's tokens (completion and EOS).
std::pair<size_t, size_t> first_target_run(const Example& e) {
  const size_t b = static_cast<size_t>(std::find(e.target.begin(), e.target.end(), 1) - e.target.begin());
  size_t end = b;
  while (end < e.target.size() && e.target[end]) ++end;
  return {b, end};
}
}  // namespace

std::vector<Label> label_set(const std::vector<Example>& examples, std::vector<Label> known) {
  std::vector<Label> labels = std::move(known);
  for (const Example& e : examples) {
    const std::string text = normalize_answer(e.target_text);
    if (std::any_of(labels.begin(), labels.end(), [&](const Label& l) { return l.text == text; })) continue;
    const auto [b, end] = first_target_run(e);
    if (b == end) continue;  // no target: nothing to rank
    labels.push_back({text, std::vector<int32_t>(e.tokens.begin() + static_cast<int64_t>(b),
                                                 e.tokens.begin() + static_cast<int64_t>(end))});
  }
  return labels;
}

RankingResult rank_labels(const LlamaModel& model, const std::vector<Example>& examples,
                          const std::vector<Label>& labels, int64_t batch, Precision precision) {
  check(!labels.empty(), "no labels to rank", "evaluation", "the task's examples have no target text");
  check(batch >= 1, "the evaluation batch must be at least 1", "evaluation");
  const int64_t L = static_cast<int64_t>(labels.size());
  int64_t longest_label = 0;
  for (const Label& l : labels) longest_label = std::max<int64_t>(longest_label, static_cast<int64_t>(l.tokens.size()));
  const int64_t context = model.config().max_position_embeddings;
  check(longest_label < context,
        "a label of " + std::to_string(longest_label) + " tokens leaves no room for a prompt in the model's " +
            std::to_string(context) + " positions",
        "evaluation", "rank with shorter labels or evaluate with --eval-mode generate");
  // Examples per forward: `batch` sequences' worth, at least one example (all its labels).
  const size_t group = static_cast<size_t>(std::max<int64_t>(1, batch / L));
  RankingResult result;
  for (size_t start = 0; start < examples.size(); start += group) {
    const size_t end = std::min(examples.size(), start + group);
    const int64_t G = static_cast<int64_t>(end - start), B = G * L;  // sequence g·L + l: example g, label l
    std::vector<std::vector<int32_t>> prompts;
    int64_t longest_prompt = 1;
    for (size_t i = start; i < end; ++i) {
      const Example& e = examples[i];
      const size_t b = first_target_run(e).first;
      check(b > 0 && b < e.tokens.size(), "an example has no prompt or no target", "evaluation");
      std::vector<int32_t> prompt(e.tokens.begin(), e.tokens.begin() + static_cast<int64_t>(b));
      // The example fits with its own label; a longer label may not: cut the prompt's middle as
      // the data readers do (its start and its last kCueTokens stay).
      const int64_t excess = static_cast<int64_t>(prompt.size()) + longest_label - context;
      if (excess > 0) cut_middle(prompt, 0, static_cast<int64_t>(prompt.size()), excess);
      longest_prompt = std::max<int64_t>(longest_prompt, static_cast<int64_t>(prompt.size()));
      prompts.push_back(std::move(prompt));
    }
    const int64_t capacity = longest_prompt + longest_label;  // ≤ context after the cuts
    LlamaForward forward(model, B, longest_prompt, capacity, precision);
    KVCache cache(model.config(), B, capacity);
    // 1. Every prompt once per label (right-padded with its own last token, never read).
    std::vector<int32_t> tokens(static_cast<size_t>(B * longest_prompt));
    std::vector<int64_t> lengths(static_cast<size_t>(B));
    for (int64_t s = 0; s < B; ++s) {
      const auto& p = prompts[static_cast<size_t>(s / L)];
      for (int64_t t = 0; t < longest_prompt; ++t)
        tokens[static_cast<size_t>(s * longest_prompt + t)] = p[static_cast<size_t>(std::min<int64_t>(t, p.size() - 1))];
      lengths[static_cast<size_t>(s)] = static_cast<int64_t>(p.size());
    }
    Tensor logits = forward.step(tokens, B, longest_prompt, lengths, cache);  // (B, V): label token 0
    // 2. Label tokens one at a time: logits of step j predict token j.
    std::vector<double> score(static_cast<size_t>(B), 0.0);
    const std::vector<int64_t> ones(static_cast<size_t>(B), 1);
    Backend& backend = forward.backend();
    Tensor log_probs = backend.zeros({B}, DType::f64);  // (B,): log p(label token j) per sequence
    for (int64_t j = 0; j < longest_label; ++j) {
      std::vector<int32_t> next(static_cast<size_t>(B)), scored(static_cast<size_t>(B), -1);  // −1: finished
      for (int64_t s = 0; s < B; ++s) {
        const auto& lt = labels[static_cast<size_t>(s % L)].tokens;
        const int64_t n = static_cast<int64_t>(lt.size());
        if (j < n) scored[static_cast<size_t>(s)] = lt[static_cast<size_t>(j)];
        next[static_cast<size_t>(s)] = lt[static_cast<size_t>(std::min(j, n - 1))];  // finished: unread
      }
      backend.token_log_probs(logits, scored, log_probs);
      const Tensor lp = host_copy(backend, log_probs);
      for (int64_t s = 0; s < B; ++s)
        if (scored[static_cast<size_t>(s)] >= 0) score[static_cast<size_t>(s)] += lp.data_as<double>()[s];
      if (j + 1 < longest_label) logits = forward.step(next, B, 1, ones, cache);
    }
    for (int64_t g = 0; g < G; ++g) {
      const double* row = score.data() + g * L;
      const int64_t best = std::max_element(row, row + L) - row;  // first maximum: ties to the earlier label
      const std::string& predicted = labels[static_cast<size_t>(best)].text;
      const bool hit = predicted == normalize_answer(examples[start + static_cast<size_t>(g)].target_text);
      result.match.correct += hit;
      result.match.matched += hit ? '1' : '0';
      ++result.match.total;
      result.match.predictions.push_back(predicted);
      result.scores.emplace_back(row, row + L);
    }
  }
  return result;
}

}  // namespace sculpt
