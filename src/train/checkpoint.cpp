#include "sculpt/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
std::string step_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
  return name;
}

// Complete checkpoints, oldest first.
std::vector<fs::path> complete_checkpoints(const std::string& output_dir) {
  std::vector<fs::path> out;
  const fs::path root = fs::path(output_dir) / "checkpoints";
  if (!fs::is_directory(root)) return out;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find(".tmp") == std::string::npos &&
        fs::exists(e.path() / "DONE"))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

std::string save_checkpoint(const std::string& output_dir, const LlamaModel& model, AdamW& optimizer,
                            const TrainingState& state, const Strategy* strategy) {
  const fs::path root = fs::path(output_dir) / "checkpoints";
  fs::create_directories(root);
  const fs::path final_dir = root / step_name(state.step);
  const fs::path tmp = root / (step_name(state.step) + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    std::vector<TensorToWrite> weights;
    for (const auto& p : model.parameters()) weights.push_back({p.name, &p.value, DType::f32});
    write_safetensors((tmp / "model.safetensors").string(), weights);
    std::vector<TensorToWrite> moments;
    for (size_t i = 0; i < model.parameters().size(); ++i) {
      moments.push_back({"m." + model.parameters()[i].name, &optimizer.first_moments()[i], DType::f32});
      moments.push_back({"v." + model.parameters()[i].name, &optimizer.second_moments()[i], DType::f32});
    }
    write_safetensors((tmp / "optimizer.safetensors").string(), moments);
    json s = {{"step", state.step},
              {"adam_steps", state.adam_steps},
              {"epoch", state.cursor.epoch},
              {"position", state.cursor.position},
              {"fingerprint", state.fingerprint}};
    write_text_atomic((tmp / "state.json").string(), s.dump(2) + "\n");
    if (strategy) strategy->save_state(tmp.string());
    write_text_atomic((tmp / "DONE").string(), "complete\n");
    fs::remove_all(final_dir);
    fs::rename(tmp, final_dir);
  } catch (...) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw;
  }
  return final_dir.string();
}

std::optional<std::string> latest_checkpoint(const std::string& output_dir) {
  auto all = complete_checkpoints(output_dir);
  if (all.empty()) return std::nullopt;
  return all.back().string();
}

TrainingState load_checkpoint(const std::string& dir, LlamaModel& model, AdamW& optimizer) {
  check(fs::exists(fs::path(dir) / "DONE"), "checkpoint is incomplete (no DONE marker)", dir,
        "it was interrupted while being written; resume from an earlier one");
  // A checkpoint given to --resume is input like any model: its files stay inside it.
  SafetensorsFile weights(confined_path(dir, "model.safetensors", dir));
  SafetensorsFile moments(confined_path(dir, "optimizer.safetensors", dir));
  auto& params = model.parameters();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].name;
    check(weights.has(name) && weights.info(name).shape == params[i].value.shape(),
          "tensor '" + name + "' is missing or has another shape", weights.path(),
          "this checkpoint belongs to another model");
    params[i].value.copy_from(weights.read_f32(name));
    optimizer.first_moments()[i].copy_from(moments.read_f32("m." + name));
    optimizer.second_moments()[i].copy_from(moments.read_f32("v." + name));
  }
  json s = json::parse(read_text_file(confined_path(dir, "state.json", dir)), nullptr, false);
  check(!s.is_discarded(), "state.json is not valid JSON", dir);
  TrainingState state;
  state.step = s.at("step").get<int64_t>();
  state.adam_steps = s.at("adam_steps").get<int64_t>();
  state.cursor = {s.at("epoch").get<int64_t>(), s.at("position").get<int64_t>()};
  state.fingerprint = s.at("fingerprint").get<std::string>();
  optimizer.set_step_count(state.adam_steps);
  return state;
}

void prune_checkpoints(const std::string& output_dir, int64_t keep) {
  const fs::path root = fs::path(output_dir) / "checkpoints";
  if (!fs::is_directory(root)) return;
  for (const auto& e : fs::directory_iterator(root))  // leftovers of interrupted saves
    if (e.path().filename().string().find(".tmp-") != std::string::npos) fs::remove_all(e.path());
  if (keep <= 0) return;
  auto all = complete_checkpoints(output_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove_all(all[i]);
}

}  // namespace sculpt
