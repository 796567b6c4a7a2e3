// Subcommand registration. Each command file adds its flags to the app and sets its callback;
// this is the only layer that parses flags.
#pragma once
#include <CLI/CLI.hpp>

namespace sculpt::cli {

void register_generate(CLI::App& app);
void register_chat(CLI::App& app);
void register_init_model(CLI::App& app);
void register_train(CLI::App& app);
void register_plan(CLI::App& app);
void register_eval(CLI::App& app);
void register_inspect(CLI::App& app);
void register_tokenizer(CLI::App& app);
void register_pretrain(CLI::App& app);
void register_plot(CLI::App& app);
void register_cl(CLI::App& app);
void register_demo(CLI::App& app);

}  // namespace sculpt::cli
