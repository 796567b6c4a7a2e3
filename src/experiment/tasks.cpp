#include "sculpt/experiment/tasks.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/data/batching.h"
#include "sculpt/data/text_corpus.h"
#include "sculpt/model/generate.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::vector<std::string> benchmark_order(const std::string& dir, const std::string& order) {
  const std::string file = (fs::path(dir) / "task_orders.json").string();
  check(fs::exists(file), "no task_orders.json", dir, "--benchmark must be the CL_Benchmark directory");
  const json orders = json::parse(read_text_file(file), nullptr, false);
  check(orders.is_object(), "invalid JSON", file, "task_orders.json maps order names to task lists");
  if (!orders.contains(order)) {
    std::string known;
    for (const auto& [k, v] : orders.items()) known += (known.empty() ? "" : ", ") + k;
    throw Error("no order '" + order + "'", file, "choose one of " + known);
  }
  check(orders[order].is_array(), "order '" + order + "' is not a list of task names", file);
  std::vector<std::string> names;
  for (const auto& n : orders[order]) {
    check(n.is_string(), "order '" + order + "' holds a non-string task name", file);
    check_plain_name(n.get<std::string>(), "task", file);  // a task name becomes a path below the benchmark
    names.push_back(n.get<std::string>());
  }
  return names;
}

std::string benchmark_task_dir(const std::string& dir, const std::string& name) {
  check_plain_name(name, "task", dir);
  std::vector<std::string> found;
  for (const auto& group : fs::directory_iterator(dir))
    if (group.is_directory() && fs::is_directory(group.path() / name)) found.push_back((group.path() / name).string());
  check(!found.empty(), "task '" + name + "' is not in the benchmark", dir,
        "check the task name (e.g. agnews, dbpedia) or the --benchmark path");
  check(found.size() == 1, "task '" + name + "' is in several groups", dir, "give the task directory itself");
  return found[0];
}

std::vector<Example> cap_per_class(const std::vector<Example>& examples, int64_t per_class, uint64_t seed) {
  if (per_class <= 0) return examples;
  const auto order = epoch_order(static_cast<int64_t>(examples.size()), seed, 0);
  std::map<std::string, int64_t> taken;
  std::vector<char> keep(examples.size(), 0);
  for (int64_t i : order) {
    const auto& e = examples[static_cast<size_t>(i)];
    if (taken[e.target_text]++ < per_class) keep[static_cast<size_t>(i)] = 1;
  }
  std::vector<Example> out;
  for (size_t i = 0; i < examples.size(); ++i)
    if (keep[i]) out.push_back(examples[i]);
  return out;
}

ClTask load_task(const std::string& spec, const Tokenizer& tok, const TaskDataOptions& o) {
  ClTask task;
  ReaderOptions ro;
  ro.example.max_seq_len = o.max_seq_len;
  ro.seed = o.seed;
  ro.model_path = o.model_path;
  const auto eq = spec.find('=');
  if (eq == std::string::npos) {  // a CL_Benchmark task directory
    check(fs::is_directory(spec), "not a task directory", spec, "give a CL_Benchmark task directory or NAME=FILE.jsonl");
    task.name = fs::path(spec).filename().string();
    ro.format = DataFormat::cl_benchmark;
    ro.split = "train";
    ro.max_samples = o.max_train_per_class > 0 ? 0 : o.max_train_samples;
    task.train = read_dataset(spec, tok, ro).examples;
    ro.split = "test";
    ro.max_samples = o.max_test_samples;
    task.test = read_dataset(spec, tok, ro).examples;
  } else {
    task.name = spec.substr(0, eq);
    const std::string files = spec.substr(eq + 1);
    const auto colon = files.find(':');
    const std::string train_file = files.substr(0, colon);
    ro.max_samples = 0;
    std::vector<Example> all = read_dataset(train_file, tok, ro).examples;
    if (colon != std::string::npos) {
      task.train = std::move(all);
      ro.max_samples = o.max_test_samples;
      task.test = read_dataset(files.substr(colon + 1), tok, ro).examples;
    } else {  // a seeded 10 % of the file is the test split
      const auto order = epoch_order(static_cast<int64_t>(all.size()), o.seed + 1, 0);
      const size_t n_test = std::max<size_t>(1, all.size() / 10);
      std::vector<char> is_test(all.size(), 0);
      for (size_t k = 0; k < n_test && k < order.size(); ++k) is_test[static_cast<size_t>(order[k])] = 1;
      for (size_t i = 0; i < all.size(); ++i) (is_test[i] ? task.test : task.train).push_back(all[i]);
      if (o.max_test_samples > 0 && static_cast<int64_t>(task.test.size()) > o.max_test_samples)
        task.test.resize(static_cast<size_t>(o.max_test_samples));
    }
    if (o.max_train_samples > 0 && o.max_train_per_class <= 0 &&
        static_cast<int64_t>(task.train.size()) > o.max_train_samples) {
      const auto order = epoch_order(static_cast<int64_t>(task.train.size()), o.seed, 0);
      std::vector<int64_t> keep(order.begin(), order.begin() + o.max_train_samples);
      std::sort(keep.begin(), keep.end());
      std::vector<Example> sub;
      for (int64_t i : keep) sub.push_back(task.train[static_cast<size_t>(i)]);
      task.train = std::move(sub);
    }
  }
  if (o.max_train_per_class > 0) {
    task.train = cap_per_class(task.train, o.max_train_per_class, o.seed);
    if (o.max_train_samples > 0 && static_cast<int64_t>(task.train.size()) > o.max_train_samples)
      task.train.resize(static_cast<size_t>(o.max_train_samples));
  }
  // Examples whose label is "-" are not scored (the O-LoRA protocol: MNLI's unlabeled items).
  std::erase_if(task.test, [](const Example& e) { return e.target_text == "-"; });
  check(!task.train.empty(), "task has no training examples", spec, "check the data and the caps");
  check(!task.test.empty(), "task has no test examples", spec, "the task needs a test split");
  log_info("task ", task.name, ": ", task.train.size(), " training, ", task.test.size(), " test examples");
  return task;
}

std::vector<Example> general_eval_texts(const std::string& source, const LlamaModel& model, const Tokenizer& tok,
                                        int64_t count, int64_t context, uint64_t seed) {
  std::vector<Example> out;
  if (source == "self") {
    // Samples of the model's own distribution, each a full sequence of context tokens after BOS.
    check(tok.bos_id() >= 0, "the tokenizer has no BOS token to start samples from", "--general-eval self",
          "give a text file instead");
    GenerationOptions g;
    g.max_new_tokens = context;
    g.sampling.temperature = 1.f;
    g.seed = seed;
    const std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(count), {tok.bos_id()});
    const auto samples = generate(model, prompts, g);
    for (const auto& s : samples) {
      Example e;
      e.tokens.push_back(tok.bos_id());
      e.tokens.insert(e.tokens.end(), s.begin(), s.end());
      e.target.assign(e.tokens.size(), 1);
      e.target[0] = 0;
      if (e.tokens.size() >= 2) out.push_back(std::move(e));
    }
    return out;
  }
  const TextCorpus corpus = read_text_corpus({source}, "text");
  PackedCorpus packed = pack_corpus(corpus, tok, context, 0.0, seed);
  out = std::move(packed.train);
  if (static_cast<int64_t>(out.size()) > count) out.resize(static_cast<size_t>(count));
  return out;
}

}  // namespace sculpt
