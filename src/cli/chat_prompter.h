// The prompt of a conversation for generate --chat and sculpt chat: the model's own chat template
// (Jinja) unless a built-in one is named, with the assistant's cue; and the tokens that end a turn.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "sculpt/data/readers.h"
#include "sculpt/text/chat_template.h"
#include "sculpt/text/tokenizer.h"

namespace sculpt::cli {

class ChatPrompter {
 public:
  // template_name: "auto" (the model's own template, else the one detected from its files) or a
  // built-in name (llama-2, llama-3, chatml, plain).
  ChatPrompter(const std::string& model_path, const std::string& template_name, const Tokenizer& tokenizer);

  // The conversation's ids as the template renders it, ending with the assistant's cue. The
  // template writes BOS itself where it wants one.
  std::vector<int32_t> prompt(const std::vector<ChatMessage>& messages) const;
  // EOS and the end-of-turn markers of the common templates that are special tokens of this
  // vocabulary (an answer stops at them even where EOS is another token).
  std::vector<int32_t> stop_tokens() const;
  // "the model's own" or the built-in template's name, for the log.
  std::string describe() const { return own_ ? "the model's own" : builtin_name_; }

 private:
  const Tokenizer& tokenizer_;
  std::optional<JinjaTemplate> own_;
  ChatTemplate builtin_ = ChatTemplate::plain;
  std::string builtin_name_;
};

}  // namespace sculpt::cli
