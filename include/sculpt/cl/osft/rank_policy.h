// Rank policies: how many singular directions k of each target matrix (rank r) are frozen.
//   fixed:    --unfreeze-rank-ratio u (trainable fraction; k = ⌊r(1−u)⌋), or --effective-rank
//             K | F (frozen rank as an integer, or a fraction of r with a decimal point).
//   schedule: frozen fraction (t−1)/n at task t of n (PEFT's advice).
//   adaptive: the paper's: retention ρ = mrr + I·(trr − mrr) from the layer importance I
//             (cl/osft/importance.h), k = ⌊ρ r⌋ clamped to [1, r−1].
//   --rank-pattern REGEX=VALUE overrides per matrix (first match wins; VALUE as --effective-rank).
// "Not given" is never 0: an option that was not passed is std::nullopt. Contradictory options
// are an Error.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace sculpt {

enum class RankPolicyKind { fixed, schedule, adaptive };
std::string rank_policy_name(RankPolicyKind kind);                 // "fixed", ...
RankPolicyKind rank_policy_from_name(const std::string& name);  // Error naming --rank-policy otherwise

struct RankPolicyOptions {
  RankPolicyKind policy = RankPolicyKind::fixed;
  std::optional<double> unfreeze_rank_ratio;
  std::optional<std::string> effective_rank;
  std::vector<std::string> rank_patterns;  // "REGEX=VALUE"
  int64_t task_index = 1, num_tasks = 1;   // for "schedule"
  double mrr = 0.1, trr = 0.8;             // for "adaptive"
};

class RankPolicy {
 public:
  explicit RankPolicy(const RankPolicyOptions& options);
  // Frozen rank k ∈ [0, r] of the matrix `name` with rank r.
  int64_t frozen_rank(const std::string& name, int64_t r) const;
  // The largest k the policy can choose before importance is measured (adaptive: r − 1, since a
  // normalised importance above 1 can take ρ past trr to the clamp), for memory plans.
  int64_t max_frozen_rank(const std::string& name, int64_t r) const;
  std::string describe() const;
  bool adaptive() const { return options_.policy == RankPolicyKind::adaptive; }
  // Normalised importance per parameter name (required before frozen_rank under "adaptive").
  void set_importance(std::map<std::string, double> importance) { importance_ = std::move(importance); }
  const std::map<std::string, double>& importance() const { return importance_; }

 private:
  struct Pattern {
    std::string source;
    std::regex regex;
    std::string value;
  };
  RankPolicyOptions options_;
  std::vector<Pattern> patterns_;
  std::map<std::string, double> importance_;
};

// "64" → 64 (clamped to r); "0.25" → ⌊0.25 r⌋. Throws Error naming `option` on bad values.
int64_t parse_frozen_rank(const std::string& value, int64_t r, const std::string& option);

}  // namespace sculpt
