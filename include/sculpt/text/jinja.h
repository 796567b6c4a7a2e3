// The Jinja subset that chat templates use, evaluated as transformers' apply_chat_template does
// (jinja2's ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls):
//   {{ expr }}, {% if/elif/else %}, {% for x in xs [if cond] %} with loop.* and {% else %},
//   {% set x = ... %} and {% set ns.attr = ... %}, {% break %}, {% continue %}, {% generation %},
//   comments, whitespace control (-), literals, lists, dicts, attribute and item access, slices,
//   the arithmetic, comparison, logical, `in`, `~` and conditional operators, `is` tests, filters
//   (trim, length, upper, lower, tojson, ...), string and dict methods (strip, split, items, get,
//   ...), namespace(), raise_exception() and strftime_now().
// Anything else (macros, includes, call blocks, ...) is an Error that names the construct and the
// line, at parse time where possible, never a silently different rendering.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace sculpt {

namespace jinja {
struct Node;
}

class JinjaTemplate {
 public:
  // Parses `source`; `name` says where it came from in errors (a file, a metadata key).
  JinjaTemplate(const std::string& source, std::string name);
  ~JinjaTemplate();
  JinjaTemplate(JinjaTemplate&&) noexcept;
  JinjaTemplate& operator=(JinjaTemplate&&) noexcept;

  // Renders with the JSON object `context` as the template's variables (ordered: dicts keep their
  // insertion order, as Python's do, which tojson and items() show).
  std::string render(const nlohmann::ordered_json& context) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_, name_;
  std::unique_ptr<jinja::Node> root_;
};

}  // namespace sculpt
