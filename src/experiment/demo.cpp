#include "sculpt/experiment/demo.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sculpt/cl/osft/osft.h"
#include "sculpt/cl/sequential.h"
#include "sculpt/core/atomic_file.h"
#include "sculpt/core/error.h"
#include "sculpt/core/log.h"
#include "sculpt/core/rng.h"
#include "sculpt/data/text_corpus.h"
#include "sculpt/experiment/tasks.h"
#include "sculpt/text/tokenizer_trainer.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {
// Attribute vocabularies: every answer is one word, and no word is shared between attributes.
const std::vector<std::string> kObjects = {"cup", "box", "lamp", "chair", "book", "coat", "bag", "clock",
                                           "ball", "bowl", "hat", "kite", "drum", "vase", "rope", "shoe"};
const std::vector<std::string> kSizes = {"small", "large", "tiny", "huge"};
// Each task has its own sentence template (so its inputs differ from the other tasks') and
// asks for one attribute; every answer is one word and no word is shared between attributes.
struct Attribute {
  std::string task, sentence, question;  // {o} object, {s} size, {a} the attribute
  std::vector<std::string> values;
};
const std::vector<Attribute> kAttributes = {
    {"color", "The {s} {a} {o} is on the table.", "Color of the {o}:",
     {"red", "blue", "green", "yellow", "black", "white"}},
    {"material", "Someone made a {s} {o} out of {a} last year.", "Material of the {o}:",
     {"glass", "wood", "metal", "paper", "stone", "wool"}},
    {"owner", "{a} bought a {s} {o} at the market.", "Buyer of the {o}:",
     {"Anna", "Ben", "Carl", "Dora", "Emma", "Finn"}},
    {"place", "The {s} {o} was left in the {a} by mistake.", "Place of the {o}:",
     {"kitchen", "garden", "attic", "garage", "hall", "office"}},
    {"mood", "Whoever holds the {s} {o} feels {a} at once.", "Feeling of the holder:",
     {"happy", "sad", "calm", "angry", "tired", "proud"}},
};

std::string pick(const std::vector<std::string>& v, Rng& rng) { return v[rng.below(v.size())]; }

std::string fill(std::string text, const std::string& object, const std::string& size, const std::string& value) {
  for (const auto& [key, with] : {std::pair<std::string, std::string>{"{o}", object}, {"{s}", size}, {"{a}", value}})
    for (size_t p; (p = text.find(key)) != std::string::npos;) text.replace(p, key.size(), with);
  return text;
}
}  // namespace

DemoWorld make_demo_world(uint64_t seed, int64_t n_tasks, int64_t train_per_task, int64_t test_per_task) {
  check(n_tasks >= 1 && n_tasks <= static_cast<int64_t>(kAttributes.size()), "the demo has 1 to 5 tasks", "--tasks",
        "choose 3");
  Rng rng(seed * 7919 + 17);
  DemoWorld world;
  for (int64_t t = 0; t < n_tasks; ++t) {
    const Attribute& a = kAttributes[static_cast<size_t>(t)];
    DemoTask task{a.task, {}, {}};
    for (int64_t i = 0; i < train_per_task + test_per_task; ++i) {
      const std::string object = pick(kObjects, rng), size = pick(kSizes, rng), value = pick(a.values, rng);
      const std::string sentence = fill(a.sentence, object, size, value);
      world.descriptions.push_back(sentence);
      DemoRecord r{sentence + "\n" + fill(a.question, object, size, value), " " + value};
      (i < train_per_task ? task.train : task.test).push_back(r);
    }
    world.tasks.push_back(task);
  }
  return world;
}

namespace {
void write_jsonl(const fs::path& path, const std::vector<DemoRecord>& records) {
  std::string text;
  for (const auto& r : records) text += json{{"prompt", r.prompt}, {"completion", r.completion}}.dump() + "\n";
  write_text_atomic(path.string(), text);
}
}  // namespace

ExperimentResult run_demo(const DemoOptions& o) {
  const fs::path out(o.output_dir);
  fs::create_directories(out / "data");
  const DemoWorld world = make_demo_world(o.seed, o.tasks, o.train_per_task, o.test_per_task);
  std::string corpus;
  for (const auto& d : world.descriptions) corpus += json{{"text", d}}.dump() + "\n";
  write_text_atomic((out / "data" / "descriptions.jsonl").string(), corpus);
  for (const auto& t : world.tasks) {
    write_jsonl(out / "data" / (t.name + "-train.jsonl"), t.train);
    write_jsonl(out / "data" / (t.name + "-test.jsonl"), t.test);
  }

  // 1. Vocabulary over descriptions and questions.
  const fs::path tok_dir = out / "tokenizer";
  if (!fs::exists(tok_dir / "tokenizer.model")) {
    std::vector<std::string> lines = world.descriptions;
    for (const auto& t : world.tasks)
      for (const auto& r : t.train) lines.push_back(r.prompt.substr(r.prompt.find('\n') + 1) + r.completion);
    TokenizerTrainOptions to;
    to.vocab_size = 400;
    fs::create_directories(tok_dir);
    write_sentencepiece_dir(tok_dir.string(), train_sentencepiece(lines, to));
  }
  auto tok = load_tokenizer(tok_dir.string());

  // 2. A tiny Llama pretrained on the descriptions (language modelling, no questions).
  const fs::path base_dir = out / "base";
  if (!fs::exists(base_dir / "final" / "config.json")) {
    ModelConfig c;
    c.hidden_size = o.hidden_size, c.intermediate_size = (o.hidden_size * 172 + 32) / 64, c.num_layers = 4;
    c.num_heads = 4, c.num_kv_heads = 2, c.head_dim = o.hidden_size / 4, c.max_position_embeddings = 128;
    c.vocab_size = tok->vocab_size();
    c.bos_token_id = tok->bos_id(), c.eos_token_id = tok->eos_id(), c.tie_word_embeddings = true;
    LlamaModel model(c);
    Rng rng(o.seed + 1);
    init_random(model, rng);
    fs::create_directories(out / "init");
    save_model_hf(model, (out / "init").string());
    for (const char* f : {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(tok_dir / f, out / "init" / f, fs::copy_options::overwrite_existing);
    TextCorpus tc;
    tc.sources = {(out / "data" / "descriptions.jsonl").string()};
    for (const auto& d : world.descriptions) tc.documents.push_back({d, 0});
    // The base model's own skill: the first task's questions (what OSFT is to protect).
    for (const auto& r : world.tasks[0].train) tc.documents.push_back({r.prompt + r.completion, 0});
    const PackedCorpus packed = pack_corpus(tc, *tok, 64, 0.0, o.seed);
    TrainOptions po;
    po.model_path = (out / "init").string();
    po.output_dir = base_dir.string();
    po.learning_rate = 3e-3f;
    po.warmup_steps = 20;
    po.max_steps = o.pretrain_steps;
    po.effective_batch_size = 16;
    po.weight_decay = o.pretrain_weight_decay;
    po.seed = o.seed;
    po.logging_steps = 100;
    po.resume = "auto";
    log_info("demo: pretraining a ", c.parameter_count(), "-parameter Llama on ", world.descriptions.size(),
             " descriptions");
    const TrainResult r = run_training(model, *tok, packed.train, po, json{{"command", "demo-pretrain"}});
    check(!r.interrupted, "interrupted", "demo", "run the demo again to resume");
  }

  // 3. The task sequence, plain fine-tuning against OSFT.
  const std::string base_path = (base_dir / "final").string();
  TaskDataOptions data;
  data.max_test_samples = 0;
  data.max_seq_len = 128;
  data.seed = o.seed;
  std::vector<ClTask> tasks;
  for (const auto& t : world.tasks)
    tasks.push_back(load_task(t.name + "=" + (out / "data" / (t.name + "-train.jsonl")).string() + ":" +
                                  (out / "data" / (t.name + "-test.jsonl")).string(),
                              *tok, data));
  ExperimentOptions eo;
  // General ability: perplexity and KL to the base on descriptions of the test objects (text the
  // base model was not trained on, in the language it was).
  TextCorpus held;
  held.sources = {"held-out descriptions"};
  for (const auto& t : world.tasks)
    for (const auto& r : t.test) held.documents.push_back({r.prompt.substr(0, r.prompt.find('\n')), 0});
  eo.general = pack_corpus(held, *tok, 64, 0.0, o.seed).train;
  eo.output_dir = (out / "experiment").string();
  eo.methods = o.methods;
  eo.train.learning_rate = o.learning_rate;
  eo.train.num_epochs = o.epochs;
  eo.train.warmup_steps = 5;
  eo.train.effective_batch_size = 16;
  eo.train.seed = o.seed;
  eo.train.logging_steps = 0;
  eo.eval_batch = 64;
  eo.eval_mode = o.eval_mode;
  eo.description = {{"command", "demo"},       {"seed", o.seed},
                    {"tasks", o.tasks},          {"methods", o.methods},
                    {"hidden_size", o.hidden_size},
                    {"learning_rate", o.learning_rate}, {"epochs", o.epochs},
                    {"pretrain_steps", o.pretrain_steps}, {"pretrain_weight_decay", o.pretrain_weight_decay},
                    {"unfreeze_rank_ratio", o.unfreeze_rank_ratio}, {"freeze_non_targets", o.freeze_non_targets},
                    {"rank_policy", o.rank_policy},
                    {"eval_mode", o.eval_mode}};
  OsftOptions osft;
  osft.rank.policy = o.rank_policy;
  if (o.rank_policy == "fixed") osft.rank.unfreeze_rank_ratio = o.unfreeze_rank_ratio;
  osft.freeze_non_targets = o.freeze_non_targets;
  const StrategyFactory factory = [&](const std::string& m) -> std::unique_ptr<Strategy> {
    if (m == "osft") return std::make_unique<OsftStrategy>(osft);
    return std::make_unique<SeqFtStrategy>();
  };
  return run_experiment(base_path, *tok, tasks, eo, factory);
}

}  // namespace sculpt
