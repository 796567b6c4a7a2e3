#include "sculpt/experiment/demo.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sculpt/cl/methods.h"
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
// One task of the world: a sentence template describing an object, and a question about one
// attribute of it. Every answer is one word, no word answers two tasks, and every question ends
// in words of its own, so that the position where the answer is produced looks different in each
// task. Each task also describes its own objects with its own modifiers; with
// --shared-objects every task describes the same objects (kSharedObjects, kSharedSizes).
struct Attribute {
  std::string task, sentence, question;  // {o} object, {s} modifier, {a} the attribute
  std::vector<std::string> values, objects, sizes;
};
const std::vector<Attribute> kAttributes = {
    {"color", "The {s} {a} {o} is on the table.", "Color of the {o}:",
     {"red", "blue", "green", "yellow", "black", "white"},
     {"cup", "box", "lamp", "chair", "book", "coat", "bag", "clock", "ball", "bowl"},
     {"small", "large", "tiny", "huge"}},
    {"material", "Someone made a {s} {o} out of {a} last year.", "That {o} is made from",
     {"glass", "wood", "metal", "paper", "stone", "wool"},
     {"hat", "kite", "drum", "vase", "rope", "shoe", "fork", "desk", "bell", "sock"},
     {"thin", "thick", "heavy", "light"}},
    {"owner", "{a} bought a {s} {o} at the market.", "Who paid for it? Clearly",
     {"Anna", "Ben", "Carl", "Dora", "Emma", "Finn"},
     {"bike", "ring", "doll", "pen", "tent", "fan", "mug", "sled", "harp", "tray"},
     {"old", "new", "cheap", "fancy"}},
    {"place", "The {s} {o} was left in the {a} by mistake.", "Where was it forgotten? Inside the",
     {"kitchen", "garden", "attic", "garage", "hall", "office"},
     {"key", "map", "coin", "jar", "mask", "flag", "bed", "sofa", "pot", "belt"},
     {"round", "square", "flat", "tall"}},
    {"mood", "Whoever holds the {s} {o} feels {a} at once.", "Holding it makes one",
     {"happy", "sad", "calm", "angry", "tired", "proud"},
     {"card", "toy", "cap", "horn", "boat", "net", "comb", "whip", "lock", "kettle"},
     {"short", "long", "wide", "narrow"}},
};
const std::vector<std::string> kSharedObjects = {"cup", "box", "lamp", "chair", "book", "coat", "bag", "clock",
                                                 "ball", "bowl", "hat", "kite", "drum", "vase", "rope", "shoe"};
const std::vector<std::string> kSharedSizes = {"small", "large", "tiny", "huge"};

std::string fill(std::string text, const std::string& object, const std::string& size, const std::string& value) {
  for (const auto& [key, with] : {std::pair<std::string, std::string>{"{o}", object}, {"{s}", size}, {"{a}", value}})
    for (size_t p; (p = text.find(key)) != std::string::npos;) text.replace(p, key.size(), with);
  return text;
}
}  // namespace

DemoWorld make_demo_world(uint64_t seed, int64_t n_tasks, int64_t train_per_task, int64_t test_per_task,
                          bool shared_objects) {
  check(n_tasks >= 1 && n_tasks <= static_cast<int64_t>(kAttributes.size()), "the demo has 1 to 5 tasks", "--tasks",
        "choose 3");
  Rng rng(seed * 7919 + 17);
  DemoWorld world;
  for (int64_t t = 0; t < n_tasks; ++t) {
    const Attribute& a = kAttributes[static_cast<size_t>(t)];
    const auto& objects = shared_objects ? kSharedObjects : a.objects;
    const auto& sizes = shared_objects ? kSharedSizes : a.sizes;
    // Every (object, modifier, value) combination at most once: no test question repeats a
    // training question, and the held-out descriptions are text the base never saw.
    struct Combo {
      size_t object, size, value;
    };
    std::vector<Combo> combos;
    for (size_t o = 0; o < objects.size(); ++o)
      for (size_t z = 0; z < sizes.size(); ++z)
        for (size_t v = 0; v < a.values.size(); ++v) combos.push_back({o, z, v});
    check(train_per_task + test_per_task <= static_cast<int64_t>(combos.size()),
          std::to_string(train_per_task + test_per_task) + " questions asked, the task has " +
              std::to_string(combos.size()) + " distinct ones",
          "demo task " + a.task, "ask for fewer training and test questions");
    shuffle(combos, rng);
    DemoTask task{a.task, {}, {}};
    for (int64_t i = 0; i < train_per_task + test_per_task; ++i) {
      const Combo& c = combos[static_cast<size_t>(i)];
      const std::string &object = objects[c.object], &size = sizes[c.size], &value = a.values[c.value];
      const std::string sentence = fill(a.sentence, object, size, value);
      const bool train = i < train_per_task;
      (train ? world.descriptions : world.held_out).push_back(sentence);
      (train ? task.train : task.test).push_back({sentence + "\n" + fill(a.question, object, size, value), " " + value});
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
  const DemoWorld world = make_demo_world(o.seed, o.tasks, o.train_per_task, o.test_per_task, o.shared_objects);
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
  // General ability: perplexity and KL to the base on the test questions' descriptions (text the
  // base model was not trained on, in the language it was).
  TextCorpus held;
  held.sources = {"held-out descriptions"};
  for (const auto& d : world.held_out) held.documents.push_back({d, 0});
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
                    {"rank_policy", o.rank_policy}, {"shared_objects", o.shared_objects},
                    {"eval_mode", o.eval_mode}};
  OsftOptions osft;
  osft.rank.policy = rank_policy_from_name(o.rank_policy);
  if (osft.rank.policy == RankPolicyKind::fixed) osft.rank.unfreeze_rank_ratio = o.unfreeze_rank_ratio;
  osft.freeze_non_targets = o.freeze_non_targets;
  MethodSettings settings;
  settings.osft = osft;
  const StrategyFactory factory = [&](const std::string& m) { return make_method(m, settings); };
  return run_experiment(base_path, *tok, tasks, eo, factory);
}

}  // namespace sculpt
