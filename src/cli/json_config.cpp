#include "json_config.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"

namespace sculpt::cli {

void expand_experiment_file(std::vector<std::string>& args) {
  std::string file;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--experiment" && i + 1 < args.size()) {
      file = args[i + 1];
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i), args.begin() + static_cast<std::ptrdiff_t>(i) + 2);
      break;
    }
    if (args[i].rfind("--experiment=", 0) == 0) {
      file = args[i].substr(13);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  }
  if (file.empty()) return;
  check(std::filesystem::exists(file), "no such file", file, "check the --experiment path");
  const nlohmann::json j = nlohmann::json::parse(read_text_file(file), nullptr, false);
  check(!j.is_discarded() && j.is_object(), "not a JSON object", file,
        "an experiment file looks like {\"order\": \"order1\", \"methods\": [\"seqft\", \"osft\"]}");
  auto given = [&](const std::string& flag) {
    return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
      return a == flag || a.rfind(flag + "=", 0) == 0;
    });
  };
  // Short aliases of the flags the file may name by their long form.
  const std::vector<std::pair<std::string, std::string>> aliases = {
      {"--model", "-m"}, {"--output-dir", "-o"}, {"--seed", "-s"}};
  for (const auto& [key, value] : j.items()) {
    const std::string flag = key.rfind("--", 0) == 0 ? key : "--" + key;
    bool on_command_line = given(flag);
    for (const auto& [long_name, short_name] : aliases)
      if (flag == long_name && given(short_name)) on_command_line = true;
    if (on_command_line) continue;
    auto text = [&](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
    if (value.is_boolean()) {
      if (value.get<bool>()) args.push_back(flag);
    } else if (value.is_array()) {
      args.push_back(flag);
      for (const auto& v : value) args.push_back(text(v));
    } else {
      args.push_back(flag);
      args.push_back(text(value));
    }
  }
}

}  // namespace sculpt::cli
