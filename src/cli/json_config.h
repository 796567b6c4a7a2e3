// Experiment files: `--experiment FILE.json` holds {"benchmark": "...", "order": "order1",
// "methods": ["seqft", "osft"], "learning-rate": 1e-4, "freeze-non-targets": true, ...}. Keys
// are long flag names (with or without "--"); arrays give several values; true adds a flag, false
// omits it. Flags given on the command line win over the file. The file is expanded into
// command-line arguments before parsing, so every flag's checks apply to it.
#pragma once
#include <string>
#include <vector>

namespace sculpt::cli {

// Replaces "--experiment FILE" (or "--experiment=FILE") in `args` by the file's flags.
// Throws sculpt::Error naming the file on a missing file or invalid JSON.
void expand_experiment_file(std::vector<std::string>& args);

}  // namespace sculpt::cli
