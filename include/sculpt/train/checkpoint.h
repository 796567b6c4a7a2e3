// Training checkpoints: everything needed to continue bit-exactly.
//   <output>/checkpoints/step-00000012/
//     model.safetensors      every parameter, f32
//     optimizer.safetensors  AdamW first and second moments ("m.<name>", "v.<name>")
//     state.json             step, AdamW step count, data cursor, run fingerprint
//     (strategy files)       e.g. osft_state.safetensors
//     DONE                   written last; a directory without it is never resumed from
// The directory is assembled under a temporary name and renamed into place.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "sculpt/cl/strategy.h"
#include "sculpt/data/batching.h"
#include "sculpt/model/llama.h"
#include "sculpt/optim/adamw.h"

namespace sculpt {

struct TrainingState {
  int64_t step = 0;        // optimizer steps completed
  int64_t adam_steps = 0;
  DataCursor cursor;
  std::string fingerprint;  // options that must match to resume (data, batch, seed, ...)
};

// Writes a checkpoint for `state.step` and returns its directory.
std::string save_checkpoint(const std::string& output_dir, const LlamaModel& model, AdamW& optimizer,
                            const TrainingState& state, const Strategy* strategy = nullptr);

// The newest complete checkpoint under <output>/checkpoints, if any.
std::optional<std::string> latest_checkpoint(const std::string& output_dir);

// Restores weights and optimizer moments in place; returns the saved state.
TrainingState load_checkpoint(const std::string& dir, LlamaModel& model, AdamW& optimizer);

// Keeps the newest `keep` complete checkpoints (0 keeps all) and removes stale temporaries.
void prune_checkpoints(const std::string& output_dir, int64_t keep);

}  // namespace sculpt
