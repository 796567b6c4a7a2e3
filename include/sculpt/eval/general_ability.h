// General-ability retention: how far a fine-tuned model has drifted from its base on text of the
// base's own domain. Over the target positions of `texts` (e.g. packed held-out stories):
//   perplexity = exp(mean −log p_model(next token))
//   kl         = mean over positions of KL(p_base ‖ p_model) = Σ_v p_base(v) (log p_base(v) − log p_model(v))
#pragma once
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/precision.h"

namespace sculpt {

struct GeneralAbility {
  double perplexity = 0, kl_to_base = 0;
  int64_t positions = 0;
};

// Both models must share the vocabulary. `rows` sequences per forward pass.
GeneralAbility general_ability(const LlamaModel& model, const LlamaModel& base, const std::vector<Example>& texts,
                               int64_t rows = 8, Precision precision = Precision::fp32);

}  // namespace sculpt
