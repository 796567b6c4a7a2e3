// The paper's layer importance for the adaptive rank policy:
//   I(W) = mean over calibration tokens of cos(x, Wx)
// with x the layer's input (for N ≠ M the first r = min(N, M) coordinates of x and Wx are
// compared), then normalised across targets to mean 1 after clipping negatives to 0.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"

namespace sculpt {

// Calibration sequences measured together in one forward pass.
constexpr int64_t kImportanceRows = 8;

// The longest calibration sequence the pass's graph holds (tokens, at least 1).
int64_t importance_sequence_length(const std::vector<Example>& calibration);

// Normalised importance of each parameter index in `targets`, from forward passes over
// `calibration` (real tokens only).
std::map<std::string, double> layer_importance(const LlamaModel& model, const std::vector<size_t>& targets,
                                               const std::vector<Example>& calibration);

}  // namespace sculpt
