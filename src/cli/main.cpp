// sculpt: continual fine-tuning of language models without forgetting.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "commands.h"
#include "json_config.h"
#include "numeric_flags.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"

int main(int argc, char** argv) {
  CLI::App app{
      "sculpt — fine-tune language models task after task without forgetting (Orthogonal Subspace Fine-Tuning).\n"
      "Models: Hugging Face directories (config.json + *.safetensors + tokenizer), GGUF files or llama2.c .bin files.",
      "sculpt"};
  app.set_version_flag("--version", "sculpt 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "Print debug messages");
  app.add_flag("-q,--quiet", quiet, "Print only errors");
  app.parse_complete_callback([&] {
    if (verbose) sculpt::set_log_level(sculpt::LogLevel::debug);
    if (quiet) sculpt::set_log_level(sculpt::LogLevel::error);
  });
  sculpt::cli::register_generate(app);
  sculpt::cli::register_chat(app);
  sculpt::cli::register_init_model(app);
  sculpt::cli::register_train(app);
  sculpt::cli::register_plan(app);
  sculpt::cli::register_eval(app);
  sculpt::cli::register_inspect(app);
  sculpt::cli::register_tokenizer(app);
  sculpt::cli::register_pretrain(app);
  sculpt::cli::register_plot(app);
  sculpt::cli::register_cl(app);
  sculpt::cli::register_demo(app);
  sculpt::cli::require_finite_numbers(app);  // after every flag is registered
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    sculpt::cli::expand_experiment_file(args);
    std::reverse(args.begin(), args.end());  // CLI11 takes the arguments in reverse order
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sculpt::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.one_line().c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
