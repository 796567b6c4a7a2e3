// Where a model's chat template is found, and how the Jinja evaluator fails. What it renders is
// checked against transformers' own environment in tests/interop/check_chat_templates.py.
#include <gtest/gtest.h>

#include <fstream>

#include "../io/gguf_bytes.h"
#include "sculpt/core/error.h"
#include "sculpt/text/byte_tokenizer.h"
#include "sculpt/text/chat_template.h"
#include "sculpt/text/jinja.h"
#include "test_support.h"

namespace sculpt {
namespace {

using ordered_json = nlohmann::ordered_json;

std::string render(const std::string& source, const ordered_json& context = ordered_json::object()) {
  return JinjaTemplate(source, "t.jinja").render(context);
}

std::string error_of(const std::string& source, const ordered_json& context = ordered_json::object()) {
  try {
    render(source, context);
  } catch (const Error& e) {
    return e.one_line();
  }
  return "no error";
}

TEST(Jinja, RendersLoopsConditionsAndWhitespaceRules) {
  const ordered_json ctx = {{"xs", {1, 2, 3}}, {"flag", true}};
  EXPECT_EQ(render("{% for x in xs %}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", ctx), "1,2,3");
  // trim_blocks and lstrip_blocks: the block lines vanish; '-' eats all whitespace on its side.
  EXPECT_EQ(render("a\n  {% if flag %}\nb\n  {% endif %}\nc", ctx), "a\nb\nc");
  EXPECT_EQ(render("a  {{- 'b' -}}  \n c"), "abc");
  EXPECT_EQ(render("{% set ns = namespace(n=0) %}{% for x in xs %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}", ctx),
            "6");
}

TEST(Jinja, UnsupportedConstructsAreNamedWithTheirLine) {
  EXPECT_NE(error_of("line 1\n{% macro f() %}{% endmacro %}").find("t.jinja:2: unsupported Jinja statement '{% macro %}'"),
            std::string::npos);
  EXPECT_NE(error_of("{{ x|center(3) }}", {{"x", "a"}}).find("unsupported filter 'center'"), std::string::npos);
  EXPECT_NE(error_of("{{ 'a'.title() }}").find("unsupported method 'title'"), std::string::npos);
  EXPECT_NE(error_of("{% if true %}open").find("missing '{% endif %}'"), std::string::npos);
  EXPECT_NE(error_of("{{ 'x' ").find("unclosed '{{' tag"), std::string::npos);
  EXPECT_NE(error_of("{{ raise_exception('roles must alternate') }}").find("refused the conversation: roles must alternate"),
            std::string::npos);
  EXPECT_NE(error_of("{{ x.y }}").find("'x' is undefined"), std::string::npos);
}

// A model's template is untrusted input: what would exhaust the stack, the memory or the time, or
// overflow an integer, is an error (found by fuzz/fuzz_jinja).
TEST(Jinja, HostileTemplatesFailCleanly) {
  EXPECT_NE(error_of("{{ 99999999999999999999 }}").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ 2 ** 70 }}").find("integer overflow"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("nested deeper"),
            std::string::npos);
  std::string ifs;
  for (int i = 0; i < 500; ++i) ifs += "{% if 1 %}";
  EXPECT_NE(error_of(ifs).find("nested deeper"), std::string::npos);
  EXPECT_NE(error_of("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}").find("loop iterations"),
            std::string::npos);
  EXPECT_NE(error_of("{{ range(10000000) }}").find("range()"), std::string::npos);
  EXPECT_NE(error_of("{% set ns = namespace(v='ab') %}{% for i in range(40) %}{% set ns.v = ns.v ~ ns.v %}{% endfor %}")
                .find("MiB"),
            std::string::npos);
  EXPECT_NE(error_of("{{ messages[].content }}").find("empty subscript"), std::string::npos);
  EXPECT_EQ(render("{{ 1e999 }}"), "inf");
}

// A model directory's template: chat_template.jinja first (transformers 5), else
// tokenizer_config.json's string, or the "default" of its named list.
TEST(ChatTemplate, FoundWhereTransformersKeepsIt) {
  testing::TempDir dir;
  write_byte_tokenizer(dir.path.string());
  EXPECT_FALSE(model_chat_template(dir.path.string()).has_value());
  std::ofstream(dir / "tokenizer_config.json")
      << R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ messages|length }}"}]})";
  const auto byte_tok = load_tokenizer(dir.path.string());
  ASSERT_TRUE(model_chat_template(dir.path.string()).has_value());
  EXPECT_EQ(render_chat_template(*model_chat_template(dir.path.string()), {{"user", "hi"}}, *byte_tok, false), "D1");
  std::ofstream(dir / "chat_template.jinja") << "{{ bos_token }}{{ messages[0].content }}{% if add_generation_prompt %}>{% endif %}";
  const std::string bos = byte_tok->bos_id() >= 0 ? byte_tok->id_to_piece(byte_tok->bos_id()) : "";
  EXPECT_EQ(render_chat_template(*model_chat_template(dir.path.string()), {{"user", "hi"}}, *byte_tok, true), bos + "hi>");
  std::ofstream(dir / "chat_template.jinja") << "{% for %}";
  try {
    model_chat_template(dir.path.string());
    ADD_FAILURE() << "a broken template loaded";
  } catch (const Error& e) {
    EXPECT_NE(e.one_line().find((dir / "chat_template.jinja") + ":1"), std::string::npos) << e.one_line();
  }
}

TEST(ChatTemplate, FoundInGgufMetadata) {
  testing::TempDir dir;
  testing::GgufBytes g;
  g.header(0, 2).kv_string("general.architecture", "llama").kv_string("tokenizer.chat_template", "<{{ messages[0].role }}>");
  const std::string path = testing::write_file(dir, "m.gguf", g.pad(32).b);
  const auto t = model_chat_template(path);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->render({{"messages", {{{"role", "user"}, {"content", "x"}}}}}), "<user>");
}

}  // namespace
}  // namespace sculpt
