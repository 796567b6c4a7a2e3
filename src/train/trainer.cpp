#include "sculpt/train/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/io/safetensors.h"
#include "sculpt/core/log.h"
#include "sculpt/core/run_lock.h"
#include "sculpt/train/memory_plan.h"
#include "sculpt/core/threads.h"
#include "sculpt/data/batching.h"
#include "sculpt/optim/schedule.h"
#include "sculpt/train/checkpoint.h"
#include "sculpt/text/gguf_tokenizer.h"
#include "sculpt/train/step.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop = true; }

// metrics.jsonl without the lines past `step` (a resumed run rewrites what follows).
void truncate_metrics(const fs::path& path, int64_t step) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value("step", int64_t{0}) <= step) kept += line + "\n";
  }
  write_text_atomic(path.string(), kept);
}

DType parse_dtype(const std::string& name, DType fallback) {
  if (name.empty()) return fallback;
  if (name == "f32" || name == "float32") return DType::f32;
  if (name == "bf16" || name == "bfloat16") return DType::bf16;
  if (name == "f16" || name == "float16") return DType::f16;
  throw Error("unknown dtype '" + name + "'", "--save-dtype", "choose f32, bf16 or f16");
}
}  // namespace

void install_stop_handlers() {
  g_stop = false;
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
}

bool stop_requested() { return g_stop.load(); }

void copy_tokenizer_files(const std::string& model_path, const Tokenizer& tokenizer, const std::string& dir) {
  if (fs::is_regular_file(model_path) && fs::path(model_path).extension() == ".gguf") {
    write_gguf_tokenizer_files(model_path, dir);  // from the metadata, never the GGUF's neighbours
    return;
  }
  const fs::path src = fs::is_directory(model_path) ? fs::path(model_path) : fs::path(model_path).parent_path();
  int copied = 0;
  for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                           "generation_config.json", "tokenizer.bin"})
    if (fs::is_regular_file(src / name)) {  // confined: an export must never carry a file from elsewhere
      fs::copy_file(confined_path(src.string(), name, model_path), fs::path(dir) / name,
                    fs::copy_options::overwrite_existing);
      ++copied;
    }
  if (copied == 0 && !fs::is_directory(model_path)) {
    // llama2.c checkpoint: the SentencePiece model (or tokenizer.bin) that load_tokenizer found.
    for (const auto& e : fs::directory_iterator(src)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("tok", 0) == 0 && e.path().extension() == ".model" && tokenizer.kind() == "sentencepiece")
        fs::copy_file(confined_path(src.string(), name, model_path), fs::path(dir) / "tokenizer.model",
                      fs::copy_options::overwrite_existing);
      if (name.rfind("tok", 0) == 0 && e.path().extension() == ".bin" && tokenizer.kind() == "llama2c")
        fs::copy_file(confined_path(src.string(), name, model_path), fs::path(dir) / "tokenizer.bin",
                      fs::copy_options::overwrite_existing);
    }
  }
}

TrainResult run_training(LlamaModel& model, const Tokenizer& tokenizer, const std::vector<Example>& examples,
                         const TrainOptions& o, const json& resolved, const EvalHook& eval, Strategy* strategy) {
  const fs::path out(o.output_dir);
  int64_t longest = 0;
  for (const auto& e : examples) longest = std::max<int64_t>(longest, static_cast<int64_t>(e.tokens.size()) - 1);
  const int64_t max_tokens = o.max_tokens_per_batch > 0 ? o.max_tokens_per_batch : o.effective_batch_size * longest;
  // The memory plan, checked before the gradients, moments, graph and strategy state exist and
  // before the output directory is made, so a refused run leaves nothing behind.
  const TrainingShape shape{(max_tokens + longest - 1) / std::max<int64_t>(longest, 1), std::max<int64_t>(longest, 1),
                            num_threads(), o.precision};
  if (o.precision == Precision::bf16) parse_precision("bf16");  // a build without oneDNN refuses here, before any output
  const MemoryPlan memory = plan_training_memory(model.config(), shape, strategy, o.held_beside, eval.memory);
  const MemoryLimit limit = memory_limit(o.memory_limit);
  log_info("memory plan (", format_mib(limit.bytes), " available, ", limit.source, "):\n", memory.table());
  check_plan_fits(memory, limit, model.config(), shape, strategy, o.held_beside, eval.memory);
  release_free_memory();  // the peak logged at the end is this run's, not an earlier stage's
  reset_peak_resident();
  const int64_t resident_at_start = current_resident_bytes();  // for the closing line: what came before

  const RunLock lock(o.output_dir, resolved.value("command", "train"));  // creates the directory
  write_text_atomic((out / "training_params.json").string(), resolved.dump(2) + "\n");
  StepBatcher batcher(examples, o.effective_batch_size, max_tokens, o.seed);
  const int64_t total_steps = o.max_steps > 0 ? o.max_steps : o.num_epochs * batcher.steps_per_epoch();
  check(total_steps > 0, "nothing to train: 0 steps", "train", "set --num-epochs or --max-steps");
  const LrSchedule schedule{schedule_from_name(o.lr_scheduler), o.learning_rate, o.warmup_steps, total_steps};

  AdamWOptions ao{o.beta1, o.beta2, o.epsilon, o.weight_decay};
  AdamW optimizer(model.parameters(), ao);
  Gradients grads(model);

  // The options a resumed run must share with the original.
  std::ostringstream fp;
  fp << resolved.value("data", "") << "|" << examples.size() << "|" << o.effective_batch_size << "|" << max_tokens << "|"
     << o.seed << "|" << total_steps << "|" << o.learning_rate << "|" << o.lr_scheduler << "|" << o.warmup_steps;
  if (strategy) fp << "|" << resolved.value("method", "") << "|" << resolved.value("osft", json()).dump();
  TrainingState state;
  state.fingerprint = fp.str();
  bool resumed = false;
  if (!o.resume.empty()) {
    std::optional<std::string> dir = o.resume == "auto" ? latest_checkpoint(o.output_dir) : std::optional(o.resume);
    if (dir) {
      TrainingState saved = load_checkpoint(*dir, model, optimizer);
      check(saved.fingerprint == state.fingerprint, "checkpoint was made with other data or options", *dir,
            "resume with the same --data, batch, seed, steps and schedule as the original run");
      state = saved;
      batcher.set_cursor(state.cursor);
      if (strategy) strategy->load_state(*dir, model, optimizer);
      resumed = true;
      log_info("resumed from ", *dir, " at step ", state.step);
    } else {
      log_info("no checkpoint to resume from in ", o.output_dir, "; starting fresh");
    }
  }
  if (strategy && !resumed) strategy->begin_task(model, optimizer);
  // begin_task's transient work (OSFT's SVDs, a calibration graph) is freed; returning it to the
  // system keeps the heap it leaves out of the training phase's peak, which the plan bounds.
  release_free_memory();
  // Built after begin_task, whose own graph (OSFT's calibration pass) is freed by then: the two
  // never coexist, and the memory plan counts the larger. Freed again for each evaluation.
  auto make_graph = [&] {
    return std::make_unique<TrainingGraph>(model, (max_tokens + longest - 1) / longest, longest, o.precision);
  };
  auto graph = make_graph();
  log_info("training: ", examples.size(), " examples, ", batcher.steps_per_epoch(), " steps/epoch, ", total_steps,
           " steps; effective batch ", o.effective_batch_size, ", ≤ ", max_tokens, " tokens per micro-batch; ",
           graph->plan().describe(), "; ", num_threads(), " threads");
  const fs::path metrics_path = out / "metrics.jsonl";
  truncate_metrics(metrics_path, state.step);
  std::ofstream metrics(metrics_path, std::ios::app);

  TrainResult result;
  auto evaluate = [&](int64_t step) {
    if (!eval) return;
    graph.reset();  // the evaluation's own workspace takes the graph's room (the plan counts the larger)
    release_free_memory();
    json m = eval.run(step, model);
    m["step"] = step;
    metrics << m.dump() << "\n" << std::flush;
    log_info("eval at step ", step, ": ", m.dump());
  };
  if (state.step == 0 && o.eval_steps > 0) evaluate(0);  // the starting point, for comparison
  const auto t_start = std::chrono::steady_clock::now();
  int64_t tokens_seen = 0;
  const int64_t first_step = state.step + 1;
  for (int64_t step = first_step; step <= total_steps; ++step) {
    if (!graph) graph = make_graph();  // after an evaluation
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<TokenBatch> micro = batcher.next_step();
    // Strategy diagnostics (OSFT's leak: two extra GEMMs per target) on the logged steps only.
    const bool logged = o.logging_steps > 0 && (step % o.logging_steps == 0 || step == total_steps);
    StepStats s;
    try {
      s = optimizer_step(model, *graph, grads, optimizer, micro, schedule.at(step), o.max_grad_norm, strategy,
                         logged || o.logging_steps == 0);
    } catch (const Error& e) {  // e.g. a loss that became NaN: say where, and what is still good
      const std::optional<std::string> last = latest_checkpoint(o.output_dir);
      throw Error(e.what_failed(), "step " + std::to_string(step) + " of " + o.output_dir,
                  last ? "the last good checkpoint is " + *last + "; resume from it with a lower --learning-rate"
                       : e.hint());
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    tokens_seen += s.tokens;
    state.step = step;
    state.adam_steps = optimizer.step_count();
    state.cursor = batcher.cursor();
    result.final_loss = s.loss;
    const double epoch = static_cast<double>(state.cursor.epoch) +
                         static_cast<double>(state.cursor.position) / static_cast<double>(examples.size());
    json line = {{"step", step},          {"epoch", epoch},          {"loss", s.loss},
                 {"lr", s.lr},            {"grad_norm", s.grad_norm}, {"tokens", s.tokens},
                 {"target_tokens", s.target_tokens}, {"tok_per_s", s.tokens / dt}, {"elapsed_s", elapsed}};
    std::string extra;
    for (const auto& [key, value] : s.strategy_metrics) {
      line[key] = value;
      char buf[64];
      std::snprintf(buf, sizeof buf, " | %s %.2e", key.c_str(), value);
      extra += buf;
    }
    metrics << line.dump() << "\n" << std::flush;
    if (logged) {
      const double eta = elapsed / static_cast<double>(step - first_step + 1) * static_cast<double>(total_steps - step);
      char text[256];
      std::snprintf(text, sizeof text, "step %lld/%lld | loss %.4f | lr %.2e | grad-norm %.3f%s | tok/s %.0f | ETA %s",
                    static_cast<long long>(step), static_cast<long long>(total_steps), s.loss, s.lr, s.grad_norm,
                    extra.c_str(), tokens_seen / std::max(elapsed, 1e-9), format_duration(eta).c_str());
      log_info(text);
    }
    if (o.eval_steps > 0 && step % o.eval_steps == 0 && step != total_steps) evaluate(step);
    const bool stop = stop_requested();
    if ((o.save_steps > 0 && step % o.save_steps == 0) || (stop && step < total_steps)) {
      save_checkpoint(o.output_dir, model, optimizer, state, strategy);
      prune_checkpoints(o.output_dir, o.save_total_limit);
    }
    if (stop && step < total_steps) {
      log_info("stopped at step ", step, " on request; checkpoint saved. Continue with --resume auto");
      result.steps_done = step;
      result.interrupted = true;
      return result;
    }
  }
  result.steps_done = total_steps;
  evaluate(total_steps);
  // The export builds files in memory (a GGUF model's tokenizer.json: tens of MiB) that no plan
  // line counts; it runs in the room the activations leave, not on top of them.
  graph.reset();
  release_free_memory();

  // Final export: a Hugging Face directory that sculpt (and transformers) load on their own.
  const fs::path final_dir = out / "final", tmp = out / ("final.tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  save_model_hf(model, tmp.string(), parse_dtype(o.save_dtype, model.source_dtype), parse_byte_size(o.max_shard_size));
  copy_tokenizer_files(o.model_path, tokenizer, tmp.string());
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  result.export_dir = final_dir.string();
  log_info("saved ", final_dir.string(), "; peak resident memory ", format_mib(peak_resident_bytes()), " (planned ",
           format_mib(memory.total()), "; ", format_mib(resident_at_start), " resident at the start)");
  return result;
}

}  // namespace sculpt
