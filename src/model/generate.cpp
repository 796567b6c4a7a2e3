#include "sculpt/model/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "sculpt/backend/backend.h"
#include "sculpt/core/error.h"
#include "sculpt/model/forward.h"

namespace sculpt {

int32_t sample_token(const float* logits, int64_t vocab, const SamplingOptions& o, Rng& rng) {
  if (o.temperature <= 0.f) return static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  // Softmax at temperature T, in double for a stable cumulative sum.
  const float max_logit = *std::max_element(logits, logits + vocab);
  std::vector<double> prob(static_cast<size_t>(vocab));
  double total = 0.0;
  for (int64_t i = 0; i < vocab; ++i) total += prob[i] = std::exp((logits[i] - max_logit) / o.temperature);
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  int64_t keep = vocab;
  if (o.top_p < 1.f) {
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return prob[a] > prob[b]; });
    double mass = 0.0;
    for (keep = 0; keep < vocab;) {
      mass += prob[order[keep++]] / total;
      if (mass >= o.top_p) break;
    }
    total = 0.0;
    for (int64_t i = 0; i < keep; ++i) total += prob[order[i]];
  }
  double target = rng.uniform_double() * total;
  for (int64_t i = 0; i < keep; ++i) {
    target -= prob[order[i]];
    if (target < 0.0) return order[i];
  }
  return order[keep - 1];
}

std::vector<std::vector<int32_t>> generate(const LlamaModel& model, const std::vector<std::vector<int32_t>>& prompts,
                                           const GenerationOptions& o,
                                           const std::function<void(int64_t, int32_t)>& on_token) {
  const int64_t B = static_cast<int64_t>(prompts.size());
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(B));
  if (B == 0) return out;
  int64_t longest = 0;
  for (const auto& p : prompts) {
    check(!p.empty(), "cannot generate from an empty prompt", "generate", "add a BOS token or some text");
    longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  }
  const int64_t capacity = longest + o.max_new_tokens;
  check(capacity <= model.config().max_position_embeddings,
        "prompt (" + std::to_string(longest) + " tokens) + max_new_tokens (" + std::to_string(o.max_new_tokens) +
            ") exceeds the model's context of " + std::to_string(model.config().max_position_embeddings),
        "generate", "shorten the prompt or lower --max-new-tokens");
  LlamaForward forward(model, B, longest, capacity, o.precision);
  KVCache cache(model.config(), B, capacity);
  Rng rng(o.seed);
  const int64_t V = model.config().vocab_size;

  // Prefill: all prompts at once, right-padded.
  std::vector<int32_t> tokens(static_cast<size_t>(B * longest), 0);
  std::vector<int64_t> lengths(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    lengths[b] = static_cast<int64_t>(prompts[b].size());
    std::copy(prompts[b].begin(), prompts[b].end(), tokens.begin() + b * longest);
  }
  Tensor logits = forward.step(tokens, B, longest, lengths, cache);  // (B, V)

  std::vector<bool> done(static_cast<size_t>(B), false);
  std::vector<int32_t> next(static_cast<size_t>(B), 0);
  std::vector<int64_t> ones(static_cast<size_t>(B), 1);
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    bool all_done = true;
    const Tensor host_logits = host_copy(forward.backend(), logits);  // sampling runs here
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      next[b] = sample_token(host_logits.data() + b * V, V, o.sampling, rng);
      out[b].push_back(next[b]);
      if (on_token) on_token(b, next[b]);
      if (std::find(o.stop_tokens.begin(), o.stop_tokens.end(), next[b]) != o.stop_tokens.end()) done[b] = true;
      all_done = all_done && done[b];
    }
    if (all_done || step + 1 == o.max_new_tokens) break;
    logits = forward.step(next, B, 1, ones, cache);  // finished sequences keep decoding, unread
  }
  return out;
}

int64_t generation_floats(const ModelConfig& c, int64_t batch, int64_t longest_prompt, int64_t max_new_tokens,
                          Precision precision, int threads) {
  const int64_t capacity = longest_prompt + max_new_tokens;
  const ForwardMemoryPlan f = ForwardMemoryPlan::make(c, batch, longest_prompt, capacity, threads, precision);
  const int64_t kv_cache = 2 * c.num_layers * Arena::footprint({batch, capacity, c.kv_dim()});
  return f.activations + f.scratch + f.weight_copies + kv_cache + 3 * Arena::footprint({batch, c.vocab_size});
}

}  // namespace sculpt
