// The optimisation, checkpoint and logging flags shared by `sculpt train` and `sculpt pretrain`,
// and the JSON record of them written to training_params.json.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "sculpt/train/trainer.h"

namespace sculpt::cli {

void add_train_option_flags(CLI::App* cmd, TrainOptions& t);
nlohmann::json train_options_json(const TrainOptions& t);
// --precision fp32|bf16 (model/precision.h), shared with `sculpt plan` and `sculpt eval`.
void add_precision_flag(CLI::App* cmd, Precision& precision);
// Accepts what parse_byte_size reads (500MB, 2GiB) and, with allow_auto, "auto"; CLI11 names the
// flag in front of the message.
CLI::Validator byte_size_validator(const std::string& option, bool allow_auto);

}  // namespace sculpt::cli
