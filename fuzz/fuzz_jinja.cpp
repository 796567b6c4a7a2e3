// libFuzzer target: the chat-template Jinja evaluator (a model's template is untrusted input):
// the input is a template, rendered against a fixed conversation. Errors are fine; crashes,
// hangs and sanitizer findings are not.
#include <nlohmann/json.hpp>
#include <string>

#include "sculpt/core/error.h"
#include "sculpt/text/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json context = {
      {"messages",
       {{{"role", "system"}, {"content", "Be brief."}},
        {{"role", "user"}, {"content", "Hi 😀"}},
        {{"role", "assistant"}, {"content", "Hello!"}}}},
      {"add_generation_prompt", true},
      {"bos_token", "<s>"},
      {"eos_token", "</s>"},
      {"tools", nullptr}};
  try {
    const sculpt::JinjaTemplate t(std::string(reinterpret_cast<const char*>(data), size), "fuzz.jinja");
    (void)t.render(context);
  } catch (const sculpt::Error&) {
  }
  return 0;
}
