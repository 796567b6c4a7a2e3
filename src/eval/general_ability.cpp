#include "sculpt/eval/general_ability.h"

#include <algorithm>
#include <cmath>

#include "sculpt/backend/backend.h"
#include "sculpt/core/error.h"
#include "sculpt/model/forward.h"

namespace sculpt {

GeneralAbility general_ability(const LlamaModel& model, const LlamaModel& base, const std::vector<Example>& texts,
                               int64_t rows, Precision precision) {
  const int64_t V = model.config().vocab_size;
  check(base.config().vocab_size == V, "the base model's vocabulary differs from the model's", "general ability",
        "compare models that share a tokenizer");
  int64_t longest = 1;
  for (const auto& e : texts) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  LlamaForward fm(model, rows, longest, longest, precision), fb(base, rows, longest, longest, precision);
  Backend& backend = fm.backend();
  Tensor log_probs = backend.zeros({rows * longest}, DType::f64), kls = backend.zeros({rows * longest}, DType::f64);
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
    // The model's log-probability of each target token and KL(base ‖ model) at its position; −1
    // marks the positions not scored (prompt tokens, padding).
    std::vector<int32_t> ids(n * static_cast<size_t>(longest), -1);
    for (size_t b = 0; b < n; ++b) {
      const Example& e = texts[i + b];
      for (size_t t = 0; t + 1 < e.tokens.size(); ++t)
        if (e.target[t + 1]) ids[b * static_cast<size_t>(longest) + t] = e.tokens[t + 1];
    }
    const int64_t scored = static_cast<int64_t>(ids.size());
    Tensor lp = log_probs.rows(0, scored), kl_rows = kls.rows(0, scored);  // (n·longest,)
    backend.token_log_probs(logits_m, ids, lp);
    backend.row_kl(logits_b, logits_m, ids, kl_rows);
    const Tensor lp_host = host_copy(backend, lp), kl_host = host_copy(backend, kl_rows);
    for (int64_t r = 0; r < scored; ++r) {
      if (ids[static_cast<size_t>(r)] < 0) continue;
      nll -= lp_host.data_as<double>()[r];
      kl += kl_host.data_as<double>()[r];
      ++g.positions;
    }
  }
  check(g.positions > 0, "no target positions in the general-ability text", "general ability", "give longer text");
  g.perplexity = std::exp(nll / static_cast<double>(g.positions));
  g.kl_to_base = kl / static_cast<double>(g.positions);
  return g;
}

}  // namespace sculpt
