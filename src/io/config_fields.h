// The config.json keys sculpt accounts for (io/config_fields.cpp), and the check that refuses
// every other one by name.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "sculpt/io/model_config.h"

namespace sculpt {

// Throws Error naming `path` and the field for a key that is neither read, nor at its neutral
// value, nor on the list of fields without effect on the forward pass; the same for keys inside
// rope_parameters / rope_scaling.
void check_hf_config_fields(const nlohmann::json& config, const std::string& path);

}  // namespace sculpt
