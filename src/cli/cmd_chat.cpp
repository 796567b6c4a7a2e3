// sculpt chat: an interactive conversation with a model through its chat template. Each line read
// is a user turn; the answer streams until an end-of-turn token or --max-new-tokens. When the
// conversation no longer fits the model's context, the oldest exchanges are dropped (the system
// message stays) and a note says so. /reset starts over; /exit or end of input ends.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "chat_prompter.h"
#include "commands.h"
#include "sampling_flags.h"
#include "stream_printer.h"
#include "sculpt/core/log.h"
#include "sculpt/core/threads.h"
#include "sculpt/model/generate.h"
#include "sculpt/model/llama.h"

namespace sculpt::cli {

namespace {
struct ChatArgs {
  std::string model, tokenizer, system, chat_template = "auto";
  int64_t max_new_tokens = 256, max_context = 0;
  float temperature = 0.f, top_p = 1.f;
  uint64_t seed = 0;
  int threads = 0;
};

void run_chat(const ChatArgs& a) {
  set_num_threads(a.threads);
  const LlamaModel model = load_model(a.model);
  const auto tokenizer = load_tokenizer(a.model, a.tokenizer);
  const ChatPrompter prompter(a.model, a.chat_template, *tokenizer);
  const int64_t context = a.max_context > 0 ? std::min(a.max_context, model.config().max_position_embeddings)
                                            : model.config().max_position_embeddings;
  log_info("chat: ", model.config().num_layers, " layers, context ", context, " tokens, template: ", prompter.describe(),
           ". Type a message; /reset starts over, /exit (or Ctrl-D) ends.");
  std::vector<ChatMessage> history;
  if (!a.system.empty()) history.push_back({"system", a.system});
  const size_t first_turn = history.size();
  GenerationOptions o;
  o.sampling = {a.temperature, a.top_p};
  o.stop_tokens = prompter.stop_tokens();
  uint64_t turn = 0;
  std::string line;
  while (true) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line == "/reset") {
      history.resize(first_turn);
      std::puts("(conversation cleared)");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({"user", line});
    std::vector<int32_t> prompt = prompter.prompt(history);
    // Room for at least a short answer: drop the oldest exchanges until the prompt leaves it.
    const int64_t room = std::min<int64_t>(a.max_new_tokens, std::max<int64_t>(context / 4, 1));
    int dropped = 0;
    while (static_cast<int64_t>(prompt.size()) + room > context && history.size() > first_turn + 1) {
      const size_t end = std::min(history.size() - 1, first_turn + 2);  // a user turn and its answer
      history.erase(history.begin() + static_cast<int64_t>(first_turn), history.begin() + static_cast<int64_t>(end));
      prompt = prompter.prompt(history);
      ++dropped;
    }
    if (static_cast<int64_t>(prompt.size()) + 1 > context) {
      std::printf("(this message alone is %zu tokens, more than the model's context of %lld; not sent)\n", prompt.size(),
                  static_cast<long long>(context));
      history.pop_back();
      continue;
    }
    if (dropped == 1) std::puts("(context full: the oldest exchange was dropped)");
    if (dropped > 1) std::printf("(context full: the oldest %d exchanges were dropped)\n", dropped);
    o.max_new_tokens = std::min<int64_t>(a.max_new_tokens, context - static_cast<int64_t>(prompt.size()));
    o.seed = a.seed + turn++;
    StreamPrinter printer(*tokenizer, prompt, /*print_prefix=*/false);
    std::vector<int32_t> answer;
    generate(model, {prompt}, o, [&](int64_t, int32_t id) {
      answer.push_back(id);
      printer.add(id);
    });
    printer.flush(/*final=*/true);
    std::printf("\n");
    std::fflush(stdout);
    while (!answer.empty() && std::find(o.stop_tokens.begin(), o.stop_tokens.end(), answer.back()) != o.stop_tokens.end())
      answer.pop_back();
    history.push_back({"assistant", tokenizer->decode(answer, /*skip_special=*/true)});
  }
}
}  // namespace

void register_chat(CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* cmd = app.add_subcommand("chat", "Talk with a model through its chat template (interactive)");
  cmd->add_option("-m,--model", a->model, "HF model directory, .gguf file or llama2.c .bin")->required();
  cmd->add_option("--tokenizer", a->tokenizer, "Tokenizer file; default: found beside (or in) the model");
  cmd->add_option("--system", a->system, "A system message that starts the conversation");
  cmd->add_option("--chat-template", a->chat_template,
                  "auto (the model's own Jinja template, else detected), llama-2, llama-3, chatml, plain")
      ->capture_default_str();
  cmd->add_option("-n,--max-new-tokens", a->max_new_tokens, "Tokens per answer at most")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  add_sampling_flags(cmd, a->temperature, a->top_p, a->threads);
  cmd->add_option("--max-context", a->max_context,
                  "Tokens of context the conversation may use (0: the model's maximum); older exchanges are dropped")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("-s,--seed", a->seed, "Random seed for sampling (turn k uses seed + k)")->capture_default_str();
  cmd->callback([a] { run_chat(*a); });
}

}  // namespace sculpt::cli
