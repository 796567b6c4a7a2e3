// The bad-input catalogue: every class of broken file or option, run through the CLI as a user
// would, with the exact one-line message and exit code expected, and no output left behind.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sculpt/io/safetensors.h"
#include "test_support.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct Result {
  int rc = -1;
  std::string err;  // stderr
};

// Runs `sculpt ARGS` with stdout discarded; stderr and the exit code come back.
Result run(const std::string& args) {
  const std::string binary = sculpt::testing::from_test_binary(SCULPT_BINARY_FROM_BINARY);
  const std::string cmd = binary + " " + args + " 2>&1 1>/dev/null";
  Result r;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) r.err.append(buf.data(), n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void spit(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// A valid tiny model, copied per case.
struct Catalogue : ::testing::Test {
  static void SetUpTestSuite() {
    dir = new testing::TempDir;
    const Result r = run("-q init-model -o " + (*dir / "good") + " --hidden-size 32 --num-layers 1 --num-heads 2");
    ASSERT_EQ(r.rc, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir; }
  static fs::path copy_of_good(const std::string& name) {
    const fs::path to = dir->path / name;
    fs::copy(dir->path / "good", to, fs::copy_options::recursive);
    return to;
  }
  static testing::TempDir* dir;
};
testing::TempDir* Catalogue::dir = nullptr;

// safetensors: 8-byte little-endian header length, JSON header, data.
std::string safetensors_bytes(const std::string& header, const std::string& data, uint64_t claimed = 0) {
  const uint64_t n = claimed ? claimed : header.size();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}
// The good model's header and data, for surgery.
std::pair<json, std::string> split_safetensors(const fs::path& file) {
  const std::string all = slurp(file);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(all[static_cast<size_t>(i)])) << (8 * i);
  return {json::parse(all.substr(8, n)), all.substr(8 + n)};
}

void expect_error(const Result& r, const std::string& message) {
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(r.err, "error: " + message + "\n");
}

TEST_F(Catalogue, Safetensors) {
  const std::string gen = "generate --prompt hi -n 1 --model ";
  {  // truncated
    const fs::path m = copy_of_good("truncated");
    const std::string all = slurp(m / "model.safetensors");
    spit(m / "model.safetensors", all.substr(0, all.size() / 2));
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find((m / "model.safetensors").string()), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("run past the end of the data"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(hint: the file is truncated or corrupt)"), std::string::npos) << r.err;
  }
  {  // header length beyond the file, and absurd
    const fs::path m = copy_of_good("header_len");
    auto [h, data] = split_safetensors(m / "model.safetensors");
    spit(m / "model.safetensors", safetensors_bytes(h.dump(), data, 1ull << 40));
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("header length"), std::string::npos) << r.err;
  }
  {  // header not JSON
    const fs::path m = copy_of_good("not_json");
    auto [h, data] = split_safetensors(m / "model.safetensors");
    std::string bad = h.dump();
    bad[0] = '[';
    spit(m / "model.safetensors", safetensors_bytes(bad, data));
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("header is not a JSON object"), std::string::npos) << r.err;
  }
  for (const char* kind : {"outside", "overlap", "dtype", "missing", "shape"}) {
    const fs::path m = copy_of_good(kind);
    auto [h, data] = split_safetensors(m / "model.safetensors");
    const std::string norm = "model.norm.weight", emb = "model.embed_tokens.weight";
    std::string expected;
    if (std::string(kind) == "outside") {
      h[norm]["data_offsets"][1] = data.size() + 64;
      expected = "data_offsets";
    } else if (std::string(kind) == "overlap") {
      h[norm]["data_offsets"] = h[emb]["data_offsets"];
      h[norm]["shape"] = h[emb]["shape"];
      expected = "overlap";
    } else if (std::string(kind) == "dtype") {
      h[norm]["dtype"] = "Q4";
      expected = "dtype";
    } else if (std::string(kind) == "missing") {
      h.erase(norm);
      expected = "tensor 'model.norm.weight' is missing";
    } else {
      h[norm]["shape"] = {16, 2};  // same bytes, wrong shape
      expected = "tensor 'model.norm.weight' has shape (16, 2) but config.json implies (32,)";
    }
    spit(m / "model.safetensors", safetensors_bytes(h.dump(), data));
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1) << kind;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << kind << ": " << r.err;
    EXPECT_NE(r.err.find(expected), std::string::npos) << kind << ": " << r.err;
    EXPECT_NE(r.err.find("model.safetensors"), std::string::npos) << kind << ": " << r.err;
  }
  {  // NaN in the weights at load
    const fs::path m = copy_of_good("nan");
    auto [h, data] = split_safetensors(m / "model.safetensors");
    const size_t at = h["model.norm.weight"]["data_offsets"][0].get<size_t>() + 4;
    const float nan = std::nanf("");
    std::memcpy(data.data() + at, &nan, 4);
    spit(m / "model.safetensors", safetensors_bytes(h.dump(), data));
    expect_error(run(gen + m.string()),
                 (m / "model.safetensors").string() +
                     ": tensor 'model.norm.weight' holds a non-finite value (nan) at element 1 (hint: the checkpoint "
                     "is corrupt or was saved after training diverged)");
  }
}

TEST_F(Catalogue, ConfigJson) {
  const std::string gen = "generate --prompt hi -n 1 --model ";
  struct Case {
    const char* name;
    std::function<void(json&)> edit;
    std::string expected;  // substring of the one line
  };
  const std::vector<Case> cases = {
      {"no_field", [](json& c) { c.erase("hidden_size"); }, "hidden_size"},
      {"model_type", [](json& c) { c["model_type"] = "gpt2"; }, "gpt2"},
      {"zero", [](json& c) { c["num_hidden_layers"] = 0; }, "num_hidden_layers"},
      {"negative", [](json& c) { c["intermediate_size"] = -5; }, "intermediate_size"},
      {"heads", [](json& c) { c["num_attention_heads"] = 3; c.erase("head_dim"); }, "heads"},
  };
  for (const auto& c : cases) {
    const fs::path m = copy_of_good(std::string("cfg_") + c.name);
    json cfg = json::parse(slurp(m / "config.json"));
    c.edit(cfg);
    spit(m / "config.json", cfg.dump(2));
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1) << c.name;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.name << ": " << r.err;
    EXPECT_EQ(r.err.rfind("error: " + (m / "config.json").string(), 0), 0u) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.name << ": " << r.err;
    EXPECT_NE(r.err.find("(hint: "), std::string::npos) << c.name << ": " << r.err;
  }
}

// A config that claims a far larger model than its weights is refused on the headers, before
// anything is allocated, naming the first tensor that differs and what the config would need.
TEST_F(Catalogue, ConfigLargerThanItsWeights) {
  const std::string gen = "generate --prompt hi -n 1 --model ";
  const fs::path m = copy_of_good("cfg_huge_layers");
  json cfg = json::parse(slurp(m / "config.json"));
  cfg["num_hidden_layers"] = 100000, cfg["hidden_size"] = 8192;  // the issue's case: ~2 TB of zeros
  spit(m / "config.json", cfg.dump(2));
  // Parameters of the claimed config, counted here: per layer q, k, v, o (2 heads × head_dim 16),
  // gate, up, down (172 wide) and two norms; a tied 258-token embedding and the final norm.
  const int64_t D = 8192, H = 2 * 16, F = 172, V = 258, L = 100000;
  const int64_t params = L * (4 * D * H + 3 * D * F + 2 * D) + V * D + D;
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f GiB", static_cast<double>(params) * 4 / (1 << 30));
  expect_error(run(gen + m.string()), (m / "model.safetensors").string() +
                                          ": tensor 'model.embed_tokens.weight' has shape (258, 32) but config.json "
                                          "implies (258, 8192) (hint: the checkpoint does not match config.json, "
                                          "which describes " + std::to_string(params) + " parameters, " + gib +
                                          " in fp32)");
  const fs::path n = copy_of_good("cfg_overflow");
  cfg = json::parse(slurp(n / "config.json"));
  cfg["hidden_size"] = 1000000000, cfg["intermediate_size"] = 1000000000;
  spit(n / "config.json", cfg.dump(2));
  expect_error(run(gen + n.string()), (n / "config.json").string() +
                                          ": the sizes describe more than 2^47 parameters (num_hidden_layers 1, "
                                          "widest dimension 1000000000) (hint: fix the sizes in the model config; no "
                                          "machine holds such a model)");
}

TEST_F(Catalogue, Tokenizer) {
  const std::string gen = "generate --prompt hi -n 1 --model ";
  {
    const fs::path m = copy_of_good("tok_corrupt");
    spit(m / "tokenizer.json", "{\"model\": ");
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err.rfind("error: " + (m / "tokenizer.json").string(), 0), 0u) << r.err;
  }
  {
    const fs::path m = copy_of_good("tok_type");
    json t = json::parse(slurp(m / "tokenizer.json"));
    t["model"]["type"] = "WordPiece";
    spit(m / "tokenizer.json", t.dump());
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("WordPiece"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find((m / "tokenizer.json").string()), std::string::npos) << r.err;
  }
}

TEST_F(Catalogue, Data) {
  const fs::path d = dir->path / "data";
  fs::create_directories(d);
  const std::string train = "train -q --max-steps 1 --model " + (dir->path / "good").string() + " --output-dir ";
  auto case_of = [&](const std::string& name, const std::string& content, const std::string& expected) {
    spit(d / name, content);
    const fs::path out = dir->path / ("out_" + name);
    expect_error(run(train + out.string() + " --data " + (d / name).string()), expected);
    EXPECT_FALSE(fs::exists(out)) << name << ": a failed run left its output directory";
  };
  const std::string ok = "{\"prompt\": \"a\", \"completion\": \"b\"}\n";
  case_of("invalid.jsonl", ok + "{\"prompt\": \"a\", \"completion\": }\n",
          (d / "invalid.jsonl").string() + ":2: invalid JSON (hint: each line must be one JSON object)");
  case_of("missing.jsonl", ok + "{\"prompt\": \"a\"}\n",
          (d / "missing.jsonl").string() + ":2: missing field 'completion' (hint: each record needs \"prompt\" and \"completion\")");
  case_of("empty.jsonl", "", (d / "empty.jsonl").string() + ": no records (hint: the file is empty)");
  case_of("utf8.jsonl", "{\"prompt\": \"caf\xe9\", \"completion\": \"b\"}\n",
          (d / "utf8.jsonl").string() + ":1: not valid UTF-8 (hint: convert the file to UTF-8)");
  case_of("long_label.jsonl", "{\"prompt\": \"a\", \"completion\": \"" + std::string(600, 'x') + "\"}\n",
          (d / "long_label.jsonl").string() + ":1: the completion needs 602 tokens, more than --max-seq-len 512 (hint: raise "
                                              "--max-seq-len or shorten the completion (or pass --skip-bad-records))");
}

TEST_F(Catalogue, ClTasks) {
  // A CL_Benchmark task without a test split, and an empty task.
  const fs::path bench = dir->path / "bench";
  fs::create_directories(bench / "configs");
  fs::create_directories(bench / "TC" / "notest");
  fs::create_directories(bench / "TC" / "empty");
  spit(bench / "configs" / "instruction_config.json", R"({"TC": [{"instruction_type": "zero-shot", "instruction": "Pick. "}]})");
  for (const char* t : {"notest", "empty"}) spit(bench / "TC" / t / "labels.json", R"(["x", "y"])");
  spit(bench / "TC" / "notest" / "train.json", R"([{"sentence": "s", "label": "x"}])");
  spit(bench / "TC" / "empty" / "train.json", "[]");
  spit(bench / "TC" / "empty" / "test.json", "[]");
  const std::string cl = "cl -q --model " + (dir->path / "good").string() + " --max-steps 1 --task ";
  Result r = run(cl + (bench / "TC" / "notest").string() + " -o " + (dir->path / "cl1").string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("test.json"), std::string::npos) << r.err;
  r = run(cl + (bench / "TC" / "empty").string() + " -o " + (dir->path / "cl2").string());
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err, "error: " + (bench / "TC" / "empty" / "train.json").string() +
                       ": the train split is empty (hint: a task needs at least one record in train.json and in test.json)\n");
  EXPECT_FALSE(fs::exists(dir->path / "cl2" / "results.json"));
}

// What a model directory, benchmark or checkpoint names stays inside it (issue: untrusted input).
TEST_F(Catalogue, Confinement) {
  const std::string gen = "generate --prompt hi -n 1 --model ";
  const std::string hint =
      " (hint: a model directory, benchmark or checkpoint names only files inside itself; do not trust this one)";
  {  // a sharded index whose weight_map names a file outside the directory: nothing is opened
    const fs::path m = copy_of_good("index_escape");
    auto [h, data] = split_safetensors(m / "model.safetensors");
    json weight_map = json::object();
    for (const auto& [name, _] : h.items())
      if (name != "__metadata__") weight_map[name] = "../../../../etc/passwd";
    fs::remove(m / "model.safetensors");
    spit(m / "model.safetensors.index.json", json{{"weight_map", weight_map}}.dump());
    expect_error(run(gen + m.string()), (m / "model.safetensors.index.json").string() +
                                            ": names '../../../../etc/passwd', a path outside its directory" + hint);
  }
  const fs::path secret = dir->path / "secret.txt";
  spit(secret, "not for the model");
  {  // a tokenizer file that is a symlink to a file elsewhere (an export would copy it)
    const fs::path m = copy_of_good("tokenizer_symlink");
    fs::remove(m / "tokenizer.json");
    fs::create_symlink(secret, m / "tokenizer.json");
    expect_error(run(gen + m.string()), m.string() + ": 'tokenizer.json' resolves to " + fs::canonical(secret).string() +
                                            ", outside " + fs::canonical(m).string() + hint);
  }
  {  // config.json, the same
    const fs::path m = copy_of_good("config_symlink");
    fs::rename(m / "config.json", dir->path / "config_elsewhere.json");
    fs::create_symlink(dir->path / "config_elsewhere.json", m / "config.json");
    const Result r = run(gen + m.string());
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.err.find("'config.json' resolves to"), std::string::npos) << r.err;
  }
  {  // a checkpoint given to --resume whose weights are a symlink out of it
    const std::string data = sculpt::testing::source_dir("examples/data/colors.jsonl");
    const fs::path out = dir->path / "resume_symlink";
    const std::string train = "train -q --max-steps 1 --save-steps 1 --model " + (dir->path / "good").string() +
                              " --data " + data + " --output-dir " + out.string();
    ASSERT_EQ(run(train).rc, 0);
    const fs::path ckpt = out / "checkpoints" / "step-00000001";
    ASSERT_TRUE(fs::exists(ckpt / "model.safetensors"));
    fs::rename(ckpt / "model.safetensors", dir->path / "weights_elsewhere.safetensors");
    fs::create_symlink(dir->path / "weights_elsewhere.safetensors", ckpt / "model.safetensors");
    expect_error(run(train + " --resume " + ckpt.string()),
                 ckpt.string() + ": 'model.safetensors' resolves to " +
                     fs::canonical(dir->path / "weights_elsewhere.safetensors").string() + ", outside " +
                     fs::canonical(ckpt).string() + hint);
  }
  {  // a benchmark's task list naming a task outside it
    const fs::path bench = dir->path / "bench_escape";
    fs::create_directories(bench / "configs");
    spit(bench / "task_orders.json", R"({"order1": ["../../etc"]})");
    expect_error(run("cl -q --model " + (dir->path / "good").string() + " --benchmark " + bench.string() +
                     " --order order1 -o " + (dir->path / "cl_escape").string()),
                 (bench / "task_orders.json").string() +
                     ": task '../../etc' is not a plain name (hint: names may not be empty, '.', '..' or hold '/')");
  }
}

TEST_F(Catalogue, Options) {
  const std::string good = (dir->path / "good").string();
  const std::string data = sculpt::testing::source_dir("examples/data/colors.jsonl");
  const std::string train = "train -q --max-steps 1 --model " + good + " --data " + data + " --output-dir ";
  expect_error(run(train + (dir->path / "o1").string() + " --method osft --unfreeze-rank-ratio 0.5 --effective-rank 3"),
               "rank policy: --unfreeze-rank-ratio and --effective-rank both given (hint: they say the same thing in two "
               "vocabularies; pass one)");
  expect_error(run(train + (dir->path / "o2").string() + " --method osft --unfreeze-rank-ratio 1.5"),
               "rank policy: --unfreeze-rank-ratio 1.5 is outside [0, 1] (hint: it is the trainable fraction of each "
               "rank: 0 freezes every target, 1 is plain fine-tuning)");
  Result r;
  expect_error(run(train + (dir->path / "o3").string() + " --method osft --unfreeze-rank-ratio 0.5 --target-patterns nomatch"),
               "--target-patterns nomatch: pattern matches no 2-D parameter (hint: parameter names look like "
               "model.layers.0.self_attn.q_proj.weight)");
  spit(dir->path / "a_file", "x");
  expect_error(run(train + (dir->path / "a_file").string()),
               (dir->path / "a_file").string() + ": exists and is not a directory (hint: choose another --output-dir)");
  r = run(train + "/proc/sculpt-cannot-write-here");
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("/proc/sculpt-cannot-write-here"), std::string::npos) << r.err;
}

TEST_F(Catalogue, DivergingLossStopsWithTheLastCheckpointIntact) {
  const std::string data = sculpt::testing::source_dir("examples/data/colors.jsonl");
  const fs::path out = dir->path / "diverge";
  const Result r = run("train -q --model " + (dir->path / "good").string() + " --data " + data + " --output-dir " +
                       out.string() + " --max-steps 200 --save-steps 1 --learning-rate 1e30 --max-grad-norm 0 --effective-batch-size 2");
  EXPECT_EQ(r.rc, 1) << r.err;
  // Says where it stopped and which checkpoint is still good.
  EXPECT_EQ(r.err.rfind("error: step 2 of " + out.string() + ": the loss is not finite", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("(hint: the last good checkpoint is " + (out / "checkpoints" / "step-00000001").string()),
            std::string::npos) << r.err;
  // The newest complete checkpoint still loads.
  std::vector<fs::path> done;
  for (const auto& e : fs::directory_iterator(out / "checkpoints"))
    if (fs::exists(e.path() / "DONE")) done.push_back(e.path());
  ASSERT_FALSE(done.empty());
  std::sort(done.begin(), done.end());
  // The checkpoint's weights are whole and finite (the NaN step was never saved).
  const TensorStore store((done.back() / "model.safetensors").string());
  EXPECT_GT(store.names().size(), 5u);
  for (const auto& name : store.names()) {
    const Tensor t = store.read_f32(name);
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_TRUE(std::isfinite(t[i])) << name;
  }
}

}  // namespace
}  // namespace sculpt
