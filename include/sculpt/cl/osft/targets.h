// Which weight matrices OSFT decomposes. Defaults per model_type are the attention and MLP
// projections; embeddings, norms and the output head are never targets unless a pattern names
// them. Patterns are ECMAScript regular expressions searched in the HF parameter name.
#pragma once
#include <string>
#include <vector>

#include "sculpt/model/llama.h"

namespace sculpt {

std::vector<std::string> default_target_patterns(const std::string& model_type);

// Indices (into model.parameters()) of the 2-D parameters matching any pattern. "all-linear"
// selects every projection matrix. Throws Error naming a pattern that matches nothing.
std::vector<size_t> select_targets(const LlamaModel& model, const std::vector<std::string>& patterns);
// The same selection over parameter specs (indices into `specs`), for plans made from a config.
std::vector<size_t> select_targets(const std::vector<ParameterSpec>& specs, const std::string& model_type,
                                   const std::vector<std::string>& patterns);

}  // namespace sculpt
