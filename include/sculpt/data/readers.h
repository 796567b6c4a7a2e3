// Readers that turn task files into tokenized examples:
//  - JSONL {"prompt": ..., "completion": ...}: loss on the completion (and EOS);
//  - JSONL chat {"messages": [{"role", "content"}, ...]} rendered with a template: loss on
//    assistant turns and their end markers;
//  - the O-LoRA CL_Benchmark layout (a task directory with train/test.json and labels.json):
//    input = instruction + "Option: " + ", ".join(labels) + " \n" + sentence + "\nAnswer:",
//    target = label + EOS.
// A malformed record is an Error naming file and line, or is skipped and counted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sculpt/data/example.h"
#include "sculpt/text/chat_template.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

enum class DataFormat { auto_detect, prompt_completion, chat, cl_benchmark };
enum class ChatTemplate { auto_detect, llama2, llama3, chatml, plain };

DataFormat data_format_from_name(const std::string& name);      // auto | jsonl | chat | cl-benchmark
ChatTemplate chat_template_from_name(const std::string& name);  // auto | llama-2 | llama-3 | chatml | plain
// The template a model's tokenizer_config.json chat_template implies (plain when none is recognised).
ChatTemplate chat_template_for_model(const std::string& model_path);

struct ReaderOptions {
  DataFormat format = DataFormat::auto_detect;
  ChatTemplate chat_template = ChatTemplate::auto_detect;
  std::string model_path;      // for ChatTemplate::auto_detect
  std::string split = "train"; // CL_Benchmark split
  ExampleOptions example;
  bool skip_bad_records = false;
  int64_t max_samples = 0;     // 0 = all; otherwise a seeded random subset (order kept)
  uint64_t seed = 0;
};

Dataset read_dataset(const std::string& path, const Tokenizer& tokenizer, const ReaderOptions& options);

// Renders a conversation into segments (exposed for tests).
std::vector<Segment> render_chat(const std::vector<ChatMessage>& messages, ChatTemplate tmpl, const Tokenizer& tokenizer);
// The same with a model's own Jinja template: the ids are those of the whole conversation's text,
// as apply_chat_template(messages, tokenize=True) gives them, and the targets are each assistant
// turn's tokens: from the end of the conversation before it rendered with the generation prompt
// to the end of the conversation through it (its end-of-turn marker included, trailing
// whitespace not). Error naming `where` when the template does not render a conversation as the
// prefix of its continuation, or a turn does not start on a token boundary.
std::vector<Segment> render_chat(const std::vector<ChatMessage>& messages, const JinjaTemplate& tmpl,
                                 const Tokenizer& tokenizer, const std::string& where);
// The ids of a whole conversation as the model's chat template renders it (BOS when the tokenizer
// adds one), followed by the assistant cue when `add_generation_prompt`: what transformers'
// apply_chat_template(messages, add_generation_prompt=...) gives for the built-in templates.
std::vector<int32_t> chat_prompt_ids(const std::vector<ChatMessage>& messages, ChatTemplate tmpl, const Tokenizer& tokenizer,
                                     bool add_generation_prompt);

// The CL_Benchmark input text for one sentence.
std::string cl_benchmark_prompt(const std::string& instruction, const std::vector<std::string>& labels,
                                const std::string& sentence);

}  // namespace sculpt
