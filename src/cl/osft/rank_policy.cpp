#include "sculpt/cl/osft/rank_policy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "sculpt/core/error.h"

namespace sculpt {

namespace {
// Shortest round-trip text of a ratio (1.5, not 1.500000).
std::string format_number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
}  // namespace

int64_t parse_frozen_rank(const std::string& value, int64_t r, const std::string& option) {
  const auto bad = [&] {
    return Error("invalid frozen rank '" + value + "'", option,
                 "use an integer (frozen directions) or a fraction in [0, 1] with a decimal point");
  };
  if (value.empty()) throw bad();
  size_t used = 0;
  if (value.find('.') != std::string::npos) {
    double f;
    try {
      f = std::stod(value, &used);
    } catch (...) {
      throw bad();
    }
    if (used != value.size() || !(f >= 0.0 && f <= 1.0)) throw bad();
    return static_cast<int64_t>(std::floor(f * static_cast<double>(r)));
  }
  long long k;
  try {
    k = std::stoll(value, &used);
  } catch (...) {
    throw bad();
  }
  if (used != value.size() || k < 0) throw bad();
  return std::min<int64_t>(k, r);
}

std::string rank_policy_name(RankPolicyKind kind) {
  switch (kind) {
    case RankPolicyKind::fixed: return "fixed";
    case RankPolicyKind::schedule: return "schedule";
    case RankPolicyKind::adaptive: return "adaptive";
  }
  throw Error("rank policy " + std::to_string(static_cast<int>(kind)) + " does not exist", "rank policy");
}

RankPolicyKind rank_policy_from_name(const std::string& name) {
  for (RankPolicyKind k : {RankPolicyKind::fixed, RankPolicyKind::schedule, RankPolicyKind::adaptive})
    if (rank_policy_name(k) == name) return k;
  throw Error("unknown rank policy '" + name + "'", "--rank-policy", "choose fixed, schedule or adaptive");
}

RankPolicy::RankPolicy(const RankPolicyOptions& o) : options_(o) {
  const bool has_u = o.unfreeze_rank_ratio.has_value(), has_k = o.effective_rank.has_value();
  if (o.policy == RankPolicyKind::fixed) {
    check(!(has_u && has_k), "--unfreeze-rank-ratio and --effective-rank both given", "rank policy",
          "they say the same thing in two vocabularies; pass one");
    check(has_u || has_k || !o.rank_patterns.empty(), "no rank given", "rank policy",
          "pass --unfreeze-rank-ratio U (trainable fraction) or --effective-rank K (frozen rank)");
  } else if (o.policy == RankPolicyKind::schedule) {
    check(!has_u && !has_k, "--rank-policy schedule sets the rank itself", "rank policy",
          "drop --unfreeze-rank-ratio / --effective-rank, or use --rank-policy fixed");
    check(o.num_tasks >= 1 && o.task_index >= 1 && o.task_index <= o.num_tasks,
          "task " + std::to_string(o.task_index) + " of " + std::to_string(o.num_tasks) + " is out of range",
          "rank policy");
  } else if (o.policy == RankPolicyKind::adaptive) {
    check(!has_u && !has_k, "--rank-policy adaptive sets the rank itself", "rank policy",
          "drop --unfreeze-rank-ratio / --effective-rank, or use --rank-policy fixed");
    check(o.mrr >= 0 && o.mrr <= 1 && o.trr >= 0 && o.trr <= 1, "--mrr and --trr must lie in [0, 1]", "rank policy");
  } else {
    (void)rank_policy_name(o.policy);  // throws: a value outside the enum
  }
  if (has_u)
    check(*o.unfreeze_rank_ratio >= 0.0 && *o.unfreeze_rank_ratio <= 1.0,
          "--unfreeze-rank-ratio " + format_number(*o.unfreeze_rank_ratio) + " is outside [0, 1]", "rank policy",
          "it is the trainable fraction of each rank: 0 freezes every target, 1 is plain fine-tuning");
  if (has_k) parse_frozen_rank(*o.effective_rank, 1 << 30, "--effective-rank");
  for (const auto& p : o.rank_patterns) {
    const size_t eq = p.rfind('=');
    check(eq != std::string::npos && eq > 0, "expected REGEX=VALUE", "--rank-pattern " + p);
    Pattern pat{p.substr(0, eq), std::regex(), p.substr(eq + 1)};
    try {
      pat.regex = std::regex(pat.source);
    } catch (const std::regex_error& e) {
      throw Error(std::string("invalid regular expression: ") + e.what(), "--rank-pattern " + p);
    }
    parse_frozen_rank(pat.value, 1 << 30, "--rank-pattern " + p);
    patterns_.push_back(std::move(pat));
  }
}

int64_t RankPolicy::frozen_rank(const std::string& name, int64_t r) const {
  for (const auto& p : patterns_)
    if (std::regex_search(name, p.regex)) return parse_frozen_rank(p.value, r, "--rank-pattern " + p.source);
  if (options_.policy == RankPolicyKind::adaptive) {
    auto it = importance_.find(name);
    check(it != importance_.end(), "no importance measured for this matrix", name,
          "the adaptive policy needs calibration data");
    const double rho = options_.mrr + it->second * (options_.trr - options_.mrr);
    const int64_t k = static_cast<int64_t>(std::floor(rho * static_cast<double>(r)));
    return std::clamp<int64_t>(k, std::min<int64_t>(1, r), std::max<int64_t>(r - 1, 0));
  }
  if (options_.policy == RankPolicyKind::schedule)
    return static_cast<int64_t>(std::floor(static_cast<double>(r) * static_cast<double>(options_.task_index - 1) /
                                           static_cast<double>(options_.num_tasks)));
  if (options_.unfreeze_rank_ratio)
    return static_cast<int64_t>(std::floor(static_cast<double>(r) * (1.0 - *options_.unfreeze_rank_ratio)));
  if (options_.effective_rank) return parse_frozen_rank(*options_.effective_rank, r, "--effective-rank");
  throw Error("no rank rule matches '" + name + "'", "rank policy",
              "add --unfreeze-rank-ratio or --effective-rank as the default for unmatched matrices");
}

int64_t RankPolicy::max_frozen_rank(const std::string& name, int64_t r) const {
  for (const auto& p : patterns_)
    if (std::regex_search(name, p.regex)) return parse_frozen_rank(p.value, r, "--rank-pattern " + p.source);
  if (options_.policy == RankPolicyKind::adaptive) return std::max<int64_t>(r - 1, 0);
  return frozen_rank(name, r);
}

std::string RankPolicy::describe() const {
  std::ostringstream out;
  if (options_.policy == RankPolicyKind::adaptive) out << "adaptive (mrr " << options_.mrr << ", trr " << options_.trr << ")";
  else if (options_.policy == RankPolicyKind::schedule) out << "schedule (task " << options_.task_index << " of " << options_.num_tasks << ")";
  else if (options_.unfreeze_rank_ratio) out << "unfreeze-rank-ratio " << *options_.unfreeze_rank_ratio;
  else if (options_.effective_rank) out << "effective-rank " << *options_.effective_rank;
  else out << "rank patterns only";
  for (const auto& p : patterns_) out << ", " << p.source << "=" << p.value;
  return out.str();
}

}  // namespace sculpt
