#include "sculpt/data/example.h"

#include <algorithm>

#include "sculpt/core/error.h"

namespace sculpt {

int64_t cut_middle(std::vector<int32_t>& ids, int64_t begin, int64_t end, int64_t excess) {
  const int64_t cue = std::min<int64_t>(kCueTokens, end - begin - excess);
  const int64_t cut_end = end - cue, cut_begin = cut_end - excess;
  ids.erase(ids.begin() + cut_begin, ids.begin() + cut_end);
  return cut_begin;
}

void recount(const std::vector<Example>& examples, DatasetStats& stats) {
  stats.records = static_cast<int64_t>(examples.size());
  stats.truncated = stats.prompt_tokens_cut = stats.target_tokens = 0;
  for (const auto& e : examples) {
    stats.truncated += e.prompt_tokens_cut > 0;
    stats.prompt_tokens_cut += e.prompt_tokens_cut;
    for (uint8_t t : e.target) stats.target_tokens += t;
  }
}

Example build_example(const Tokenizer& tokenizer, const std::vector<Segment>& segments, const ExampleOptions& options,
                      const std::string& where, DatasetStats& stats) {
  Example ex;
  // BOS, unless the segments begin with it (a chat template that writes bos_token itself).
  const bool segments_start_with_bos =
      !segments.empty() && !segments[0].ids.empty() && segments[0].ids[0] == tokenizer.bos_id();
  if (options.add_bos && tokenizer.adds_bos() && tokenizer.bos_id() >= 0 && !segments_start_with_bos) {
    ex.tokens.push_back(tokenizer.bos_id());
    ex.target.push_back(0);
  }
  int last_target = -1;
  for (size_t i = 0; i < segments.size(); ++i)
    if (segments[i].target) last_target = static_cast<int>(i);
  check(last_target >= 0, "record has no completion to learn", where, "the completion/assistant text is empty");
  bool seen_target = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = segments[i];
    std::vector<int32_t> ids = s.ids.empty() ? tokenizer.encode(s.text) : s.ids;
    if (static_cast<int>(i) == last_target && options.add_eos && tokenizer.eos_id() >= 0) ids.push_back(tokenizer.eos_id());
    if (s.target && !seen_target) ex.target_text = s.text;
    if (!s.target && !seen_target) ex.prompt_text += s.text;
    seen_target = seen_target || s.target;
    for (int32_t id : ids) {
      ex.tokens.push_back(id);
      ex.target.push_back(s.target ? 1 : 0);
    }
  }
  const int64_t len = static_cast<int64_t>(ex.tokens.size());
  if (len > options.max_seq_len) {
    // Prompt region: after BOS up to the first target token.
    const int64_t begin = !ex.tokens.empty() && ex.tokens[0] == tokenizer.bos_id() && tokenizer.bos_id() >= 0 ? 1 : 0;
    const int64_t first_target =
        std::find(ex.target.begin(), ex.target.end(), 1) - ex.target.begin();
    const int64_t excess = len - options.max_seq_len;
    const int64_t prompt = first_target - begin;
    check(prompt >= excess,
          "the completion needs " + std::to_string(len - prompt) + " tokens, more than --max-seq-len " +
              std::to_string(options.max_seq_len),
          where, "raise --max-seq-len or shorten the completion (or pass --skip-bad-records)");
    const int64_t cut_begin = cut_middle(ex.tokens, begin, first_target, excess);
    ex.target.erase(ex.target.begin() + cut_begin, ex.target.begin() + cut_begin + excess);
    ex.prompt_tokens_cut = excess;
  }
  stats.truncated += ex.prompt_tokens_cut > 0;
  stats.prompt_tokens_cut += ex.prompt_tokens_cut;
  for (uint8_t t : ex.target) stats.target_tokens += t;
  ++stats.records;
  return ex;
}

}  // namespace sculpt
