#include "sculpt/experiment/runner.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/run_lock.h"
#include "sculpt/eval/exact_match.h"
#include "sculpt/eval/label_ranking.h"
#include "sculpt/eval/general_ability.h"
#include "sculpt/experiment/report.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

json eval_row_json(const EvalRow& r) {
  json j = {{"accuracy", r.accuracy}, {"train_seconds", r.train_seconds}};
  if (!r.matched.empty()) j["matched"] = r.matched;
  if (r.general_perplexity >= 0) j["general_perplexity"] = r.general_perplexity, j["general_kl"] = r.general_kl;
  return j;
}

EvalRow eval_row_from_json(const json& j) {
  EvalRow r;
  r.accuracy = j.at("accuracy").get<std::vector<double>>();
  if (j.contains("matched")) r.matched = j.at("matched").get<std::vector<std::string>>();
  r.train_seconds = j.value("train_seconds", 0.0);
  r.general_perplexity = j.value("general_perplexity", -1.0);
  r.general_kl = j.value("general_kl", -1.0);
  return r;
}

namespace {

std::string fmt_pct(double v) {
  char b[16];
  std::snprintf(b, sizeof b, "%.1f", 100 * v);
  return b;
}

EvalRow evaluate_all(const LlamaModel& model, const LlamaModel& base, const Tokenizer& tok,
                     const std::vector<ClTask>& tasks, const ExperimentOptions& o, const std::string& label) {
  EvalRow row;
  std::string line = label + ":";
  for (const ClTask& t : tasks) {
    if (o.eval_mode == "rank") {
      // The label set: every label of the task, train and test.
      const std::vector<Label> labels = label_set(t.test, label_set(t.train));
      const ExactMatchResult m = rank_labels(model, t.test, labels, o.eval_batch, o.train.precision).match;
      row.accuracy.push_back(m.accuracy());
      row.matched.push_back(m.matched);
    } else {
      const ExactMatchResult m = exact_match(model, tok, t.test, o.eval_batch, o.train.precision);
      row.accuracy.push_back(m.accuracy());
      row.matched.push_back(m.matched);
    }
    line += " " + t.name + " " + fmt_pct(row.accuracy.back());
  }
  if (!o.general.empty()) {
    const GeneralAbility g = general_ability(model, base, o.general, 8, o.train.precision);
    row.general_perplexity = g.perplexity;
    row.general_kl = g.kl_to_base;
    char b[96];
    std::snprintf(b, sizeof b, " | general perplexity %.3f, KL to base %.4f", g.perplexity, g.kl_to_base);
    line += b;
  }
  log_info(line);
  return row;
}

std::string stage_dir(const fs::path& method_dir, size_t stage, const std::string& task) {
  return (method_dir / ("stage-" + std::to_string(stage + 1) + "-" + task)).string();
}

}  // namespace

ExperimentResult run_experiment(const std::string& model_path, const Tokenizer& tok, const std::vector<ClTask>& tasks,
                                const ExperimentOptions& o, const StrategyFactory& make_strategy) {
  check(!tasks.empty(), "no tasks", "cl", "give --order or --tasks");
  check(!o.methods.empty(), "no methods", "cl", "give --methods");
  const fs::path out(o.output_dir);
  const RunLock lock(o.output_dir, "cl");  // creates the directory
  // The experiment a directory holds never changes: resuming with other options is an error.
  const fs::path exp_file = out / "experiment.json";
  if (fs::exists(exp_file)) {
    const json saved = json::parse(read_text_file(exp_file.string()), nullptr, false);
    check(saved == o.description, "the output directory holds an experiment with other options", exp_file.string(),
          "resume with the same command, or choose another --output-dir");
  } else {
    write_text_atomic(exp_file.string(), o.description.dump(2) + "\n");
  }

  ExperimentResult result;
  for (const auto& t : tasks) result.task_names.push_back(t.name);
  result.eval_mode = o.eval_mode;
  const LlamaModel base = load_model(model_path);
  const fs::path base_file = out / "base.json";
  if (fs::exists(base_file)) {
    result.base = eval_row_from_json(json::parse(read_text_file(base_file.string())));
  } else {
    result.base = evaluate_all(base, base, tok, tasks, o, "base model");
    write_text_atomic(base_file.string(), eval_row_json(result.base).dump(2) + "\n");
  }

  // Stages of all methods, for the ETA.
  int64_t stages_total = 0, stages_left = 0;
  std::vector<std::unique_ptr<Strategy>> strategies;
  for (const auto& m : o.methods) {
    strategies.push_back(make_strategy(m));
    stages_total += strategies.back()->joint() ? 1 : static_cast<int64_t>(tasks.size());
  }
  stages_left = stages_total;
  double run_seconds = 0;
  int64_t stages_run = 0;

  std::vector<const std::vector<Example>*> train_sets;
  for (const auto& t : tasks) train_sets.push_back(&t.train);

  for (size_t mi = 0; mi < o.methods.size(); ++mi) {
    const std::string& method = o.methods[mi];
    Strategy& strategy = *strategies[mi];
    const size_t n_stages = strategy.joint() ? 1 : tasks.size();
    const fs::path method_dir = out / method;
    fs::create_directories(method_dir);
    MethodResult mr;
    mr.method = method;
    const fs::path progress_file = method_dir / "progress.json";
    if (fs::exists(progress_file)) {
      const json p = json::parse(read_text_file(progress_file.string()), nullptr, false);
      check(p.is_object() && p.contains("rows"), "corrupt progress file", progress_file.string(),
            "delete the method's folder to run it again");
      for (const auto& r : p["rows"]) mr.rows.push_back(eval_row_from_json(r));
    }
    auto stage_name = [&](size_t s) { return strategy.joint() ? std::string("all") : tasks[s].name; };
    std::unique_ptr<LlamaModel> model;
    if (mr.rows.empty()) {
      model = std::make_unique<LlamaModel>(load_model(model_path));
    } else {
      const std::string last = stage_dir(method_dir, mr.rows.size() - 1, stage_name(mr.rows.size() - 1));
      model = std::make_unique<LlamaModel>(load_model(last + "/final"));
      strategy.load_between_tasks(last + "/strategy");
      log_info(method, ": ", mr.rows.size(), " of ", n_stages, " stages already done; continuing");
    }
    stages_left -= static_cast<int64_t>(mr.rows.size());
    for (size_t s = mr.rows.size(); s < n_stages; ++s) {
      const size_t data_task = strategy.joint() ? tasks.size() - 1 : s;
      strategy.before_task(static_cast<int64_t>(s + 1), static_cast<int64_t>(tasks.size()),
                           tasks[s == 0 ? 0 : s - 1].train);
      const std::vector<Example> examples = strategy.training_examples(train_sets, data_task);
      log_info("== ", method, " (", mi + 1, "/", o.methods.size(), "), stage ", s + 1, "/", n_stages, ": ",
               stage_name(s), ", ", examples.size(), " training examples");
      TrainOptions to = o.train;
      to.model_path = model_path;  // where the tokenizer files are copied from
      to.output_dir = stage_dir(method_dir, s, stage_name(s));
      to.resume = "auto";
      to.save_dtype = "f32";  // the next stage starts from these weights exactly
      to.held_beside = {{"base model", base.config().parameter_count() * 4, "the reference of every evaluation"}};
      if (auto lr = o.method_learning_rate.find(method); lr != o.method_learning_rate.end())
        to.learning_rate = lr->second;
      json resolved = o.description;
      resolved["method"] = method;
      resolved["stage"] = s + 1;
      resolved["data"] = stage_name(s);
      resolved["learning_rate"] = to.learning_rate;  // after a per-method override
      const auto t0 = std::chrono::steady_clock::now();
      const TrainResult r = run_training(*model, tok, examples, to, resolved, {}, &strategy);
      if (r.interrupted) {
        result.methods.push_back(mr);
        result.interrupted = true;
        write_reports(out.string(), result);
        return result;
      }
      strategy.write_task_files(to.output_dir);  // as train writes them
      strategy.end_task(*model, examples);
      strategy.save_between_tasks(to.output_dir + "/strategy");
      EvalRow row = evaluate_all(*model, base, tok, tasks, o, method + " after " + stage_name(s));
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      row.train_seconds = secs;
      mr.rows.push_back(row);
      json rows = json::array();
      for (const auto& rr : mr.rows) rows.push_back(eval_row_json(rr));
      write_text_atomic(progress_file.string(), json{{"rows", rows}}.dump(2) + "\n");
      run_seconds += secs;
      ++stages_run;
      --stages_left;
      log_info("progress: ", stages_total - stages_left, "/", stages_total, " stages; ETA ",
               format_duration(run_seconds / static_cast<double>(stages_run) * static_cast<double>(stages_left)));
    }
    mr.complete = true;
    result.methods.push_back(mr);
    strategies[mi].reset();  // its subspaces, Fisher or adapters are not the next method's memory
    write_reports(out.string(), result);
  }
  return result;
}

}  // namespace sculpt
