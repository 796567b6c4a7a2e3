#include "sculpt/eval/general_ability.h"

#include <algorithm>
#include <cmath>

#include "sculpt/core/error.h"
#include "sculpt/eval/log_sum_exp.h"
#include "sculpt/model/forward.h"

namespace sculpt {

namespace {
// log-softmax of one row of logits into `out` (V).
void log_softmax(const float* logits, int64_t V, std::vector<double>& out) {
  const double lse = log_sum_exp(logits, V);
  for (int64_t v = 0; v < V; ++v) out[static_cast<size_t>(v)] = static_cast<double>(logits[v]) - lse;
}
}  // namespace

GeneralAbility general_ability(const LlamaModel& model, const LlamaModel& base, const std::vector<Example>& texts,
                               int64_t rows, Precision precision) {
  const int64_t V = model.config().vocab_size;
  check(base.config().vocab_size == V, "the base model's vocabulary differs from the model's", "general ability",
        "compare models that share a tokenizer");
  int64_t longest = 1;
  for (const auto& e : texts) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  LlamaForward fm(model, rows, longest, longest, precision), fb(base, rows, longest, longest, precision);
  std::vector<double> lm(static_cast<size_t>(V)), lb(static_cast<size_t>(V));
  double nll = 0, kl = 0;
  GeneralAbility g;
  for (size_t i = 0; i < texts.size(); i += static_cast<size_t>(rows)) {
    const size_t n = std::min(texts.size() - i, static_cast<size_t>(rows));
    // Right-padded inputs tokens[0..len−2]; position t predicts tokens[t+1].
    std::vector<int32_t> tokens(n * static_cast<size_t>(longest), 0);
    for (size_t b = 0; b < n; ++b) {
      const auto& e = texts[i + b].tokens;
      for (size_t t = 0; t + 1 < e.size(); ++t) tokens[b * static_cast<size_t>(longest) + t] = e[t];
    }
    const Tensor logits_m = fm.logits_all(tokens, static_cast<int64_t>(n), longest);  // (n, longest, V)
    const Tensor logits_b = fb.logits_all(tokens, static_cast<int64_t>(n), longest);  // (n, longest, V)
    for (size_t b = 0; b < n; ++b) {
      const Example& e = texts[i + b];
      for (size_t t = 0; t + 1 < e.tokens.size(); ++t) {
        if (!e.target[t + 1]) continue;
        const size_t row = (b * static_cast<size_t>(longest) + t) * static_cast<size_t>(V);
        log_softmax(logits_m.data() + row, V, lm);
        log_softmax(logits_b.data() + row, V, lb);
        nll -= lm[static_cast<size_t>(e.tokens[t + 1])];
        double k = 0;
        for (int64_t v = 0; v < V; ++v) k += std::exp(lb[static_cast<size_t>(v)]) * (lb[static_cast<size_t>(v)] - lm[static_cast<size_t>(v)]);
        kl += k;
        ++g.positions;
      }
    }
  }
  check(g.positions > 0, "no target positions in the general-ability text", "general ability", "give longer text");
  g.perplexity = std::exp(nll / static_cast<double>(g.positions));
  g.kl_to_base = kl / static_cast<double>(g.positions);
  return g;
}

}  // namespace sculpt
