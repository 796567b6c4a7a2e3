// Values and the syntax tree of sculpt's Jinja evaluator (see sculpt/text/jinja.h).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace sculpt::jinja {

struct Value;
using List = std::vector<Value>;
using Map = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python's dict

// A Jinja value with Python's semantics. Lists and dicts are shared (reference semantics), so
// that `{% set ns.x = ... %}` changes the namespace every holder sees.
struct Value {
  enum class Kind { undefined, none, boolean, integer, number, string, list, map };
  Kind kind = Kind::undefined;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::shared_ptr<List> list;
  std::shared_ptr<Map> map;
  bool is_namespace = false;  // a namespace() object: attribute assignment allowed

  static Value none() { Value v; v.kind = Kind::none; return v; }
  static Value of(bool b) { Value v; v.kind = Kind::boolean; v.boolean = b; return v; }
  static Value of(int64_t i) { Value v; v.kind = Kind::integer; v.integer = i; return v; }
  static Value of(double d) { Value v; v.kind = Kind::number; v.number = d; return v; }
  static Value of(std::string s) { Value v; v.kind = Kind::string; v.string = std::move(s); return v; }
  static Value of(List l) { Value v; v.kind = Kind::list; v.list = std::make_shared<List>(std::move(l)); return v; }
  static Value of(Map m) { Value v; v.kind = Kind::map; v.map = std::make_shared<Map>(std::move(m)); return v; }
  static Value from_json(const nlohmann::ordered_json& j);

  bool defined() const { return kind != Kind::undefined; }
  bool is_number() const { return kind == Kind::integer || kind == Kind::number || kind == Kind::boolean; }
  double as_double() const { return kind == Kind::number ? number : static_cast<double>(kind == Kind::boolean ? boolean : integer); }
  bool truthy() const;
  // Python's str() (what {{ }} prints; undefined prints nothing) and repr().
  std::string str() const;
  std::string repr() const;
  // The value under `key` of a dict, or nullptr.
  const Value* find(const std::string& key) const;
  std::string type_name() const;
};

bool equal(const Value& a, const Value& b);
// json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=...) as transformers' tojson.
std::string to_json(const Value& v, int indent, bool sort_keys);

// Expressions.
struct Expr {
  enum class Kind { literal, name, attribute, index, slice, call, filter, test, unary, binary, conditional, list, dict };
  Kind kind;
  int line = 0;
  Value literal;
  std::string name;  // variable, attribute, filter, test or operator
  std::vector<std::unique_ptr<Expr>> args;  // operands, call / filter / test arguments, list items
  std::vector<std::pair<std::string, std::unique_ptr<Expr>>> kwargs;  // keyword arguments; dict items
  bool negated = false;  // `is not`
};
using ExprPtr = std::unique_ptr<Expr>;

// Statements.
struct Node {
  enum class Kind { sequence, text, output, if_, for_, set, break_, continue_ };
  Kind kind;
  int line = 0;
  std::string text;                       // text
  std::vector<std::unique_ptr<Node>> children;  // sequence; for body
  std::vector<std::pair<ExprPtr, std::unique_ptr<Node>>> branches;  // if / elif (condition, body)
  std::unique_ptr<Node> else_body;        // if, for
  ExprPtr expr;                           // output; set value; for iterable
  ExprPtr condition;                      // for ... if condition
  std::vector<std::string> targets;       // for targets; set: name, or {namespace, attribute}
};

// Parses a template into its tree; Error naming `name` and the line on a syntax error or an
// unsupported construct.
std::unique_ptr<Node> parse(const std::string& source, const std::string& name);

}  // namespace sculpt::jinja
