// The hook points every continual-learning method plugs into (DESIGN.md §3). A strategy owns
// its state (subspaces, Fisher, buffers, adapters); a new method is one new file in cl/.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "sculpt/core/memory.h"
#include "sculpt/data/example.h"
#include "sculpt/model/llama.h"
#include "sculpt/model/training_graph.h"
#include "sculpt/optim/adamw.h"

namespace sculpt {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The most memory the strategy's own state and workspace will hold while training a model of
  // `config` on sequences of at most `seq` tokens with `threads` threads, from the shapes alone
  // (nothing is decomposed or allocated): a line of the run's memory plan (train/memory_plan.h).
  virtual MemoryLine planned_memory(const ModelConfig& config, int64_t seq, int threads) const { return {}; }
  // A forward pass begin_task runs on a graph of its own before the training graph is built (the
  // adaptive rank policy's calibration): its micro-batch (rows sequences of seq tokens) and the
  // floats it holds beside the graph; rows = 0 when there is none. The memory plan counts the
  // larger of this graph and the training graph, which never exist together.
  struct BeginTaskPass {
    int64_t rows = 0, seq = 0, extra_floats = 0;
  };
  virtual BeginTaskPass planned_begin_task_pass(const ModelConfig& config) const { return {}; }
  // Before the first step of a task (and never again for that task).
  virtual void begin_task(LlamaModel& model, AdamW& optimizer) {}
  // After backward, before clipping: may rewrite gradients (e.g. gradient-mode projection).
  virtual void on_gradients(LlamaModel& model, Gradients& grads) {}
  // Squared norm of gradients the strategy holds itself (e.g. factored OSFT's U/Σ/V), added to
  // the global norm that clipping uses.
  virtual double extra_grad_norm_sq() const { return 0.0; }
  // The one post-step hook, after AdamW updated every parameter of the model: a strategy with
  // its own parameters steps them (lr of this step; clip_scale ≤ 1 is the global clipping
  // factor), one that confines the update applies it: for the parameters whose AdamW rule
  // defers, `grads` holds AdamW's step instead of the gradient (W − step is the plain update).
  // `measure` asks for the diagnostics of step_metrics (on logged steps and the last one).
  virtual void after_step(LlamaModel& model, Gradients& grads, float lr, float clip_scale, bool measure) {}
  // Numbers for the step line and metrics.jsonl (measured in the last after_step).
  virtual std::vector<std::pair<std::string, double>> step_metrics() const { return {}; }
  // Checkpoint support: state a resumed run needs to continue bit-identically.
  virtual void save_state(const std::string& dir) const {}
  virtual void load_state(const std::string& dir, LlamaModel& model, AdamW& optimizer) {}
  // After the last step of a task, with the examples it was trained on (EWC's Fisher).
  virtual void end_task(LlamaModel& model, const std::vector<Example>& trained_on) {}

  // Task-sequence hooks (the continual-learning runner).
  // Before task `index` (1-based) of `count`, with the training examples of the task before it
  // (the first task's own at the first): OSFT's schedule and adaptive calibration.
  virtual void before_task(int64_t index, int64_t count, const std::vector<Example>& previous) {}
  // After a task's training, files in its output directory that say what the method did there
  // (OSFT: osft_plan.json, the ranks it froze).
  virtual void write_task_files(const std::string& dir) const {}
  // The examples to train task `task` on; `tasks` holds the training examples of tasks 0..task.
  // Default: the task's own. Replay mixes earlier tasks in.
  virtual std::vector<Example> training_examples(const std::vector<const std::vector<Example>*>& tasks,
                                                 size_t task) const {
    return *tasks.at(task);
  }
  // True for joint (multi-task) training: one stage over every task instead of a sequence.
  virtual bool joint() const { return false; }
  // State carried from one task to the next (e.g. EWC's accumulated Fisher), saved after
  // end_task so an interrupted sequence resumes at the task boundary.
  virtual void save_between_tasks(const std::string& dir) const {}
  virtual void load_between_tasks(const std::string& dir) {}
};

}  // namespace sculpt
