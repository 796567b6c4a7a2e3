#include "chat_prompter.h"

namespace sculpt::cli {

ChatPrompter::ChatPrompter(const std::string& model_path, const std::string& template_name, const Tokenizer& tokenizer)
    : tokenizer_(tokenizer) {
  if (template_name == "auto") own_ = model_chat_template(model_path);
  builtin_ = template_name == "auto" ? chat_template_for_model(model_path) : chat_template_from_name(template_name);
  builtin_name_ = template_name == "auto" ? "detected built-in" : template_name;
}

std::vector<int32_t> ChatPrompter::prompt(const std::vector<ChatMessage>& messages) const {
  if (own_) return tokenizer_.encode(render_chat_template(*own_, messages, tokenizer_, /*add_generation_prompt=*/true));
  return chat_prompt_ids(messages, builtin_, tokenizer_, /*add_generation_prompt=*/true);
}

std::vector<int32_t> ChatPrompter::stop_tokens() const {
  std::vector<int32_t> ids;
  if (tokenizer_.eos_id() >= 0) ids.push_back(tokenizer_.eos_id());
  for (const char* marker : {"<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>"}) {
    const std::vector<int32_t> one = tokenizer_.encode(marker);
    if (one.size() == 1 && tokenizer_.is_special(one[0])) ids.push_back(one[0]);
  }
  return ids;
}

}  // namespace sculpt::cli
