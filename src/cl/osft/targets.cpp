#include "sculpt/cl/osft/targets.h"

#include <regex>

#include "sculpt/core/error.h"

namespace sculpt {

std::vector<std::string> default_target_patterns(const std::string& /*model_type*/) {
  // llama, mistral and qwen2 share HF's projection names.
  return {"self_attn\\.q_proj\\.weight$", "self_attn\\.k_proj\\.weight$", "self_attn\\.v_proj\\.weight$",
          "self_attn\\.o_proj\\.weight$", "mlp\\.gate_proj\\.weight$",    "mlp\\.up_proj\\.weight$",
          "mlp\\.down_proj\\.weight$"};
}

std::vector<size_t> select_targets(const LlamaModel& model, const std::vector<std::string>& patterns) {
  std::vector<ParameterSpec> specs;
  for (const auto& p : model.parameters()) specs.push_back({p.name, p.value.shape()});
  return select_targets(specs, model.config().model_type, patterns);
}

std::vector<size_t> select_targets(const std::vector<ParameterSpec>& params, const std::string& model_type,
                                   const std::vector<std::string>& patterns_in) {
  std::vector<std::string> patterns = patterns_in;
  if (patterns.empty()) patterns = default_target_patterns(model_type);
  if (patterns.size() == 1 && patterns[0] == "all-linear") patterns = default_target_patterns(model_type);
  std::vector<std::regex> compiled;
  for (const auto& p : patterns) {
    try {
      compiled.emplace_back(p);
    } catch (const std::regex_error& e) {
      throw Error(std::string("invalid regular expression: ") + e.what(), "--target-patterns " + p);
    }
  }
  std::vector<bool> used(patterns.size(), false);
  std::vector<size_t> out;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].shape.size() != 2) continue;
    bool hit = false;
    for (size_t j = 0; j < compiled.size(); ++j)
      if (std::regex_search(params[i].name, compiled[j])) {
        used[j] = true;
        hit = true;
      }
    if (hit) out.push_back(i);
  }
  for (size_t j = 0; j < patterns.size(); ++j)
    check(used[j], "pattern matches no 2-D parameter", "--target-patterns " + patterns[j],
          "parameter names look like model.layers.0.self_attn.q_proj.weight");
  return out;
}

}  // namespace sculpt
