#include "sculpt/train/memory_plan.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "sculpt/cl/strategy.h"
#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/model/training_graph.h"

namespace sculpt {

namespace {
constexpr int64_t kFloat = 4;

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  return line;
}
}  // namespace

int64_t MemoryPlan::total() const {
  int64_t sum = 0;
  for (const auto& l : lines) sum += l.bytes;
  return sum;
}

std::string MemoryPlan::table() const {
  std::ostringstream out;
  char row[256];
  for (const auto& l : lines) {
    std::snprintf(row, sizeof row, "  %-22s %14s  %s\n", l.item.c_str(), format_mib(l.bytes).c_str(), l.detail.c_str());
    out << row;
  }
  std::snprintf(row, sizeof row, "  %-22s %14s\n", "total", format_mib(total()).c_str());
  out << row;
  return out.str();
}

MemoryPlan plan_training_memory(const ModelConfig& c, const TrainingShape& shape, const Strategy* strategy,
                                const std::vector<MemoryLine>& held, const MemoryLine& evaluation) {
  const int64_t params = c.parameter_count();
  const std::string p = std::to_string(params) + " fp32 parameters";
  const auto act = TrainingMemoryPlan::make(c, shape.rows, shape.seq, shape.threads, TrainingGraph::kHeadChunkRows,
                                            shape.precision);
  MemoryPlan plan;
  plan.lines.push_back({"weights", params * kFloat, p});
  plan.lines.push_back({"gradients", params * kFloat, "one per parameter"});
  plan.lines.push_back({"AdamW moments", 2 * params * kFloat, "m and v per parameter"});
  const MemoryLine state = strategy ? strategy->planned_memory(c, shape.seq, shape.threads) : MemoryLine{};
  if (state.bytes > 0) plan.lines.push_back(state);
  if (act.weight_copies > 0)
    plan.lines.push_back({"bf16 weight copies", act.weight_copies * kFloat, "projections and head, for bf16 products"});
  plan.lines.push_back({"saved activations", act.activations * kFloat,
                        std::to_string(shape.rows) + " x " + std::to_string(shape.seq) + " tokens"});
  plan.lines.push_back({"backward workspace", act.backward * kFloat, std::to_string(shape.threads) + " threads"});

  // Two phases run in the room others leave, and a line counts only what they need beyond it (the
  // larger, as they never coexist): the strategy's calibration pass, before its state and the
  // training graph exist (its graph forward-only: of the workspace only the attention scratch is
  // written), and an in-run evaluation, for which the trainer frees the graph.
  const int64_t graph = (act.activations + act.backward + act.weight_copies) * kFloat;
  MemoryLine beyond;
  if (const auto pass = strategy ? strategy->planned_begin_task_pass(c) : Strategy::BeginTaskPass{}; pass.rows > 0) {
    const auto other = TrainingMemoryPlan::make(c, pass.rows, pass.seq, shape.threads, TrainingGraph::kHeadChunkRows);
    const int64_t needs = (other.activations + pass.extra_floats + other.forward_scratch) * kFloat;
    beyond = {"calibration pass", needs - state.bytes - graph,
              format_mib(needs) + " before the state and graph exist: " + std::to_string(pass.rows) + " x " +
                  std::to_string(pass.seq) + " tokens of " + strategy->name() + "'s calibration"};
  }
  if (evaluation.bytes - graph > beyond.bytes)
    beyond = {evaluation.item, evaluation.bytes - graph,
              format_mib(evaluation.bytes) + " in the training graph's room: " + evaluation.detail};
  if (beyond.bytes > 0) plan.lines.push_back(std::move(beyond));
  plan.lines.insert(plan.lines.end(), held.begin(), held.end());
  plan.lines.push_back({"process", kProcessOverhead, "code, tokenizer, data"});
  return plan;
}

MemoryLimit memory_limit(const std::string& flag) {
  if (!flag.empty() && flag != "auto")
    return {static_cast<int64_t>(parse_byte_size(flag, "--memory-limit")), "--memory-limit"};
  const int64_t physical = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
  MemoryLimit limit{physical, "physical memory"};
  for (const char* file : {"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}) {
    const int64_t v = parse_cgroup_limit(read_first_line(file));
    if (v > 0 && v < limit.bytes) limit = {v, std::string("cgroup limit ") + file};
  }
  return limit;
}

void check_plan_fits(const MemoryPlan& plan, const MemoryLimit& limit, const ModelConfig& config,
                     const TrainingShape& shape, const Strategy* strategy, const std::vector<MemoryLine>& held,
                     const MemoryLine& evaluation) {
  if (plan.total() <= limit.bytes) return;
  // The activations scale with the micro-batch: the largest one that fits, else a shorter one.
  std::string hint;
  TrainingShape smaller = shape;
  for (smaller.rows = shape.rows - 1; smaller.rows >= 1; --smaller.rows)
    if (plan_training_memory(config, smaller, strategy, held, evaluation).total() <= limit.bytes) break;
  if (smaller.rows >= 1) {
    hint = "it fits with micro-batches of " + std::to_string(smaller.rows) + " sequences (--max-tokens-per-batch " +
           std::to_string(smaller.rows * shape.seq) + ", gradient accumulation keeps the effective batch)";
  } else {
    smaller.rows = 1;
    for (smaller.seq = shape.seq / 2; smaller.seq >= 16; smaller.seq /= 2)
      if (plan_training_memory(config, smaller, strategy, held, evaluation).total() <= limit.bytes) break;
    if (smaller.seq >= 16) {
      hint = "it fits with one sequence of at most " + std::to_string(smaller.seq) + " tokens per micro-batch (--max-seq-len " +
             std::to_string(smaller.seq) + ")";
    } else if (evaluation.bytes > 0 &&
               plan_training_memory(config, {1, 16, shape.threads}, strategy, held).total() <= limit.bytes) {
      hint = "the in-run evaluation alone needs " + format_mib(evaluation.bytes) +
             ": evaluate fewer or shorter examples (--eval-samples, --max-seq-len) or after training (sculpt eval)";
    } else {
      const int64_t least = plan_training_memory(config, {1, 16, shape.threads}, strategy, held, evaluation).total();
      hint = "even one 16-token sequence per micro-batch needs " + format_mib(least) +
             ": use a machine with more memory, or a LoRA method (sculpt cl --methods seqlora)";
    }
  }
  throw Error("the run needs " + format_mib(plan.total()) + " but " + format_mib(limit.bytes) + " is available (" +
                  limit.source + ")",
              "memory plan", hint);
}

}  // namespace sculpt
