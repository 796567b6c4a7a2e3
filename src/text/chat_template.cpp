#include "sculpt/text/chat_template.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "sculpt/core/atomic_file.h"
#include "sculpt/core/confined_path.h"
#include "sculpt/core/error.h"
#include "sculpt/io/gguf.h"

namespace sculpt {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::optional<JinjaTemplate> model_chat_template(const std::string& model_path) {
  const fs::path path(model_path);
  if (fs::is_regular_file(path) && path.extension() == ".gguf") {
    GgufFile gguf(model_path);
    const GgufValue* t = gguf.find("tokenizer.chat_template");
    if (!t) return std::nullopt;
    check(t->type == GgufValue::Type::string, "tokenizer.chat_template is not a string", model_path);
    return JinjaTemplate(t->s, model_path + " (tokenizer.chat_template)");
  }
  const fs::path jinja_file = confined_path(model_path, "chat_template.jinja", model_path);
  if (fs::is_regular_file(jinja_file)) return JinjaTemplate(read_text_file(jinja_file.string()), jinja_file.string());
  const fs::path cfg = confined_path(model_path, "tokenizer_config.json", model_path);
  if (!fs::is_regular_file(cfg)) return std::nullopt;
  const json j = json::parse(read_text_file(cfg.string()), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("chat_template") || j["chat_template"].is_null())
    return std::nullopt;
  const json& t = j["chat_template"];
  const std::string where = cfg.string() + " (chat_template)";
  if (t.is_string()) return JinjaTemplate(t.get<std::string>(), where);
  if (t.is_array())  // [{"name": "default", "template": ...}, {"name": "tool_use", ...}]
    for (const auto& entry : t)
      if (entry.is_object() && entry.value("name", "") == "default" && entry.contains("template") &&
          entry["template"].is_string())
        return JinjaTemplate(entry["template"].get<std::string>(), where);
  throw Error("chat_template is neither a string nor a list with a \"default\" entry", cfg.string(),
              "fix the file, or pass a built-in template with --chat-template");
}

std::string render_chat_template(const JinjaTemplate& tmpl, const std::vector<ChatMessage>& messages,
                                 const Tokenizer& tokenizer, bool add_generation_prompt) {
  nlohmann::ordered_json context = {{"messages", nlohmann::ordered_json::array()},
                  {"add_generation_prompt", add_generation_prompt},
                  {"tools", nullptr},
                  {"documents", nullptr}};
  for (const auto& m : messages) context["messages"].push_back({{"role", m.role}, {"content", m.content}});
  if (tokenizer.bos_id() >= 0) context["bos_token"] = tokenizer.id_to_piece(tokenizer.bos_id());
  if (tokenizer.eos_id() >= 0) context["eos_token"] = tokenizer.id_to_piece(tokenizer.eos_id());
  return tmpl.render(context);
}

}  // namespace sculpt
