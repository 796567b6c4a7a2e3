// A model's own chat template (Jinja), found where transformers and llama.cpp keep it, and
// rendered as transformers' apply_chat_template renders it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "sculpt/text/jinja.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt {

struct ChatMessage {
  std::string role, content;
};

// The template of a model directory (chat_template.jinja, as transformers 5 writes it, else
// tokenizer_config.json's "chat_template": a string, or the "default" entry of a named list) or
// of a .gguf file (tokenizer.chat_template); nullopt when it carries none. Parse errors name the
// file and line.
std::optional<JinjaTemplate> model_chat_template(const std::string& model_path);

// The conversation as text, as apply_chat_template(messages, add_generation_prompt=...,
// tokenize=False) gives it: bos_token and eos_token are the tokenizer's, tools and documents none.
std::string render_chat_template(const JinjaTemplate& tmpl, const std::vector<ChatMessage>& messages,
                                 const Tokenizer& tokenizer, bool add_generation_prompt);

}  // namespace sculpt
