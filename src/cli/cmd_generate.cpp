// sculpt generate: text from a model, greedy or sampled, streamed as it is produced.
#include <chrono>
#include <cstdio>

#include "chat_prompter.h"
#include "commands.h"
#include "sampling_flags.h"
#include "stream_printer.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/model/forward.h"
#include "sculpt/model/generate.h"
#include "sculpt/model/llama.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt::cli {

namespace {
struct GenerateArgs {
  std::string model, tokenizer, prompt = "Once upon a time";
  std::string chat, system, chat_template = "auto";
  int64_t max_new_tokens = 64;
  float temperature = 0.f, top_p = 1.f;
  uint64_t seed = 0;
  int threads = 0;
  bool no_bos = false, ignore_eos = false;
};

void run_generate(const GenerateArgs& a) {
  set_num_threads(a.threads);
  auto t0 = std::chrono::steady_clock::now();
  LlamaModel model = load_model(a.model);
  auto tokenizer = load_tokenizer(a.model, a.tokenizer);
  const ModelConfig& c = model.config();
  log_info("model: ", c.model_type, ", ", c.num_layers, " layers, hidden ", c.hidden_size, ", heads ", c.num_heads, "/",
           c.num_kv_heads, ", vocab ", c.vocab_size, ", ", c.parameter_count(), " parameters; tokenizer: ",
           tokenizer->kind(), " (", tokenizer->vocab_size(), " tokens); threads: ", num_threads(), " (BLAS: ",
           blas_threading_runtime(), ")");

  std::vector<int32_t> prompt, chat_stops;
  if (!a.chat.empty()) {
    std::vector<ChatMessage> messages;
    if (!a.system.empty()) messages.push_back({"system", a.system});
    messages.push_back({"user", a.chat});
    const ChatPrompter prompter(a.model, a.chat_template, *tokenizer);
    log_debug("chat template: ", prompter.describe());
    prompt = prompter.prompt(messages);
    if (!a.ignore_eos) chat_stops = prompter.stop_tokens();
  } else {
    prompt = a.no_bos ? tokenizer->encode(a.prompt) : tokenizer->encode_for_model(a.prompt);
    if (prompt.empty() && tokenizer->bos_id() >= 0) prompt.push_back(tokenizer->bos_id());
  }
  GenerationOptions o;
  o.max_new_tokens = std::min<int64_t>(a.max_new_tokens, c.max_position_embeddings - static_cast<int64_t>(prompt.size()));
  o.sampling = {a.temperature, a.top_p};
  o.seed = a.seed;
  if (!a.ignore_eos && tokenizer->eos_id() >= 0) o.stop_tokens.push_back(tokenizer->eos_id());
  for (int32_t id : chat_stops) o.stop_tokens.push_back(id);  // (insert() trips a GCC 12 -Warray-bounds false positive)
  const auto plan = ForwardMemoryPlan::make(c, 1, static_cast<int64_t>(prompt.size()), prompt.size() + o.max_new_tokens,
                                            num_threads());
  log_debug("memory plan: ", plan.describe());

  StreamPrinter printer(*tokenizer, prompt, /*print_prefix=*/a.chat.empty());  // a chat prints the answer alone
  std::vector<int32_t> generated;
  auto t1 = std::chrono::steady_clock::now();
  generate(model, {prompt}, o, [&](int64_t, int32_t id) {
    generated.push_back(id);
    printer.add(id);
  });
  printer.flush(/*final=*/true);
  std::printf("\n");
  std::fflush(stdout);
  auto t2 = std::chrono::steady_clock::now();
  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double gen_s = std::chrono::duration<double>(t2 - t1).count();
  log_info("generated ", generated.size(), " tokens in ", gen_s, " s (", generated.size() / std::max(gen_s, 1e-9),
           " tok/s); load ", load_s, " s");
}
}  // namespace

void register_generate(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text from a model (greedy when --temperature is 0)");
  cmd->add_option("-m,--model", a->model, "HF model directory, GGUF file or llama2.c .bin")->required();
  cmd->add_option("--tokenizer", a->tokenizer,
                  "Tokenizer file (tokenizer.json, tokenizer.model, llama2.c tokenizer.bin); default: found beside the model");
  cmd->add_option("-p,--prompt", a->prompt, "Text to continue")->capture_default_str();
  cmd->add_option("--chat", a->chat, "A user message, answered through the model's chat template (instead of --prompt)");
  cmd->add_option("--system", a->system, "A system message before --chat");
  cmd->add_option("--chat-template", a->chat_template,
                  "Template for --chat: auto (the model's own Jinja template, else detected), llama-2, llama-3, chatml, plain")
      ->capture_default_str();
  cmd->add_option("-n,--max-new-tokens", a->max_new_tokens, "Tokens to generate at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_sampling_flags(cmd, a->temperature, a->top_p, a->threads);
  cmd->add_option("-s,--seed", a->seed, "Random seed for sampling")->capture_default_str();
  cmd->add_flag("--no-bos", a->no_bos, "Do not prepend the BOS token");
  cmd->add_flag("--ignore-eos", a->ignore_eos, "Keep generating after the end-of-sequence token");
  cmd->callback([a] { run_generate(*a); });
}

}  // namespace sculpt::cli
