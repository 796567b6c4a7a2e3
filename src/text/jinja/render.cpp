// Evaluates the syntax tree: scopes (a for loop's body is its own scope, as in jinja2; `set`
// outside loops reaches the template's scope), the loop object, filters, tests, methods and the
// globals transformers provides (raise_exception, strftime_now, namespace).
#include <algorithm>
#include <cmath>
#include <ctime>

#include "ast.h"
#include "sculpt/core/error.h"
#include "sculpt/text/jinja.h"

namespace sculpt {

namespace jinja {
namespace {

// UTF-8 code points of a string, each as its bytes (Python indexes strings by code point).
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

const char* const kWhitespace = " \t\n\r\v\f";

std::string strip(const std::string& s, const std::string& chars, bool left, bool right) {
  size_t b = 0, e = s.size();
  if (left) b = s.find_first_not_of(chars);
  if (b == std::string::npos) return "";
  if (right) e = s.find_last_not_of(chars) + 1;
  return s.substr(b, e - b);
}

enum class Flow { normal, break_, continue_ };

// Bounds on what one rendering may do, so that a hostile template fails instead of exhausting the
// machine: loop iterations over the whole rendering, and the size of strings it builds.
constexpr int64_t kMaxIterations = 100'000;
constexpr uint64_t kMaxOutput = 64ull << 20;

class Renderer {
 public:
  Renderer(const std::string& name, const Value& context) : name_(name) { scopes_.push_back(*context.map); }

  Flow render(const Node& n, std::string& out) {
    switch (n.kind) {
      case Node::Kind::sequence:
        for (const auto& c : n.children) {
          const Flow f = render(*c, out);
          if (f != Flow::normal) return f;
        }
        return Flow::normal;
      case Node::Kind::text: out += n.text; break;
      case Node::Kind::output: out += eval(*n.expr).str(); break;
      case Node::Kind::if_:
        for (const auto& [cond, body] : n.branches)
          if (eval(*cond).truthy()) return render(*body, out);
        return n.else_body ? render(*n.else_body, out) : Flow::normal;
      case Node::Kind::for_: return render_for(n, out);
      case Node::Kind::set: {
        Value v = eval(*n.expr);
        if (n.targets.size() == 1) {
          assign(scopes_.back(), n.targets[0], std::move(v));
        } else {
          Value ns = lookup(n.targets[0]);
          if (ns.kind != Value::Kind::map || !ns.is_namespace)
            fail(n.line, "cannot assign an attribute of '" + n.targets[0] + "' (not a namespace)");
          assign(*ns.map, n.targets[1], std::move(v));
        }
        return Flow::normal;
      }
      case Node::Kind::break_: return Flow::break_;
      case Node::Kind::continue_: return Flow::continue_;
    }
    if (out.size() > kMaxOutput) fail(n.line, "the rendering exceeds " + std::to_string(kMaxOutput >> 20) + " MiB");
    return Flow::normal;
  }

 private:
  [[noreturn]] void fail(int line, const std::string& what) const {
    throw Error(what, name_ + ":" + std::to_string(line),
                "sculpt evaluates the Jinja subset of chat templates; pass a built-in one with --chat-template");
  }

  static void assign(Map& scope, const std::string& key, Value v) {
    for (auto& [k, old] : scope)
      if (k == key) { old = std::move(v); return; }
    scope.emplace_back(key, std::move(v));
  }

  Value lookup(const std::string& name) const {
    for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s)
      for (const auto& [k, v] : *s)
        if (k == name) return v;
    return Value();
  }

  static bool is_global_function(const std::string& name) {
    return name == "raise_exception" || name == "strftime_now" || name == "namespace" || name == "range";
  }

  std::vector<Value> items_of(const Value& v, int line) const {
    switch (v.kind) {
      case Value::Kind::list: return *v.list;
      case Value::Kind::map: {
        std::vector<Value> keys;
        for (const auto& kv : *v.map) keys.push_back(Value::of(kv.first));
        return keys;
      }
      case Value::Kind::string: {
        std::vector<Value> chars;
        for (auto& c : code_points(v.string)) chars.push_back(Value::of(c));
        return chars;
      }
      case Value::Kind::undefined: return {};
      default: fail(line, "'" + v.type_name() + "' object is not iterable");
    }
  }

  Flow render_for(const Node& n, std::string& out) {
    std::vector<Value> items = items_of(eval(*n.expr), n.line);
    if (n.condition) {  // `for x in xs if cond`: filtered before loop.* is counted
      std::vector<Value> kept;
      for (auto& item : items) {
        scopes_.emplace_back();
        bind_targets(n, item);
        if (eval(*n.condition).truthy()) kept.push_back(item);
        scopes_.pop_back();
      }
      items = std::move(kept);
    }
    if (items.empty()) return n.else_body ? render(*n.else_body, out) : Flow::normal;
    const auto length = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < length; ++i) {
      if (++iterations_ > kMaxIterations)
        fail(n.line, "more than " + std::to_string(kMaxIterations) + " loop iterations in one rendering");
      scopes_.emplace_back();
      bind_targets(n, items[static_cast<size_t>(i)]);
      Map loop = {{"index", Value::of(i + 1)},
                  {"index0", Value::of(i)},
                  {"revindex", Value::of(length - i)},
                  {"revindex0", Value::of(length - i - 1)},
                  {"first", Value::of(i == 0)},
                  {"last", Value::of(i == length - 1)},
                  {"length", Value::of(length)},
                  {"previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value()},
                  {"nextitem", i + 1 < length ? items[static_cast<size_t>(i + 1)] : Value()}};
      assign(scopes_.back(), "loop", Value::of(std::move(loop)));
      const Flow f = render(*n.children[0], out);
      scopes_.pop_back();
      if (f == Flow::break_) break;
    }
    return Flow::normal;
  }

  void bind_targets(const Node& n, const Value& item) {
    if (n.targets.size() == 1) {
      assign(scopes_.back(), n.targets[0], item);
      return;
    }
    if (item.kind != Value::Kind::list || item.list->size() != n.targets.size())
      fail(n.line, "cannot unpack " + item.repr() + " into " + std::to_string(n.targets.size()) + " names");
    for (size_t k = 0; k < n.targets.size(); ++k) assign(scopes_.back(), n.targets[k], (*item.list)[k]);
  }

  Value eval(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::literal: return e.literal;
      case Expr::Kind::name: return lookup(e.name);
      case Expr::Kind::list: {
        List l;
        for (const auto& a : e.args) l.push_back(eval(*a));
        return Value::of(std::move(l));
      }
      case Expr::Kind::dict: {
        Map m;
        for (const auto& [k, v] : e.kwargs) assign(m, k, eval(*v));
        return Value::of(std::move(m));
      }
      case Expr::Kind::attribute: {
        const Value obj = eval(*e.args[0]);
        if (!obj.defined()) fail(e.line, "'" + describe(*e.args[0]) + "' is undefined (reading ." + e.name + ")");
        const Value* v = obj.find(e.name);
        return v ? *v : Value();
      }
      case Expr::Kind::index: return index(eval(*e.args[0]), eval(*e.args[1]), e);
      case Expr::Kind::slice: return slice(eval(*e.args[0]), e);
      case Expr::Kind::call: return call(e);
      case Expr::Kind::filter: return filter(e);
      case Expr::Kind::test: {
        const bool r = test(e);
        return Value::of(e.negated ? !r : r);
      }
      case Expr::Kind::unary: {
        const Value v = eval(*e.args[0]);
        if (e.name == "not") return Value::of(!v.truthy());
        if (v.kind == Value::Kind::integer) return Value::of(-v.integer);
        if (v.is_number()) return Value::of(-v.as_double());
        fail(e.line, "bad operand for unary -: '" + v.type_name() + "'");
      }
      case Expr::Kind::binary: return binary(e);
      case Expr::Kind::conditional:
        return eval(*e.args[1]).truthy() ? eval(*e.args[0]) : eval(*e.args[2]);
    }
    return Value();
  }

  static std::string describe(const Expr& e) {
    if (e.kind == Expr::Kind::name) return e.name;
    if (e.kind == Expr::Kind::attribute) return describe(*e.args[0]) + "." + e.name;
    return "value";
  }

  Value index(const Value& obj, const Value& key, const Expr& e) {
    if (!obj.defined()) fail(e.line, "'" + describe(*e.args[0]) + "' is undefined (indexing it)");
    if (obj.kind == Value::Kind::map) {
      const Value* v = key.kind == Value::Kind::string ? obj.find(key.string) : nullptr;
      return v ? *v : Value();
    }
    if (key.kind != Value::Kind::integer) return Value();
    if (obj.kind == Value::Kind::list || obj.kind == Value::Kind::string) {
      const std::vector<Value> items = items_of(obj, e.line);
      int64_t i = key.integer, n = static_cast<int64_t>(items.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value();  // jinja2: an undefined value, not an error
      return items[static_cast<size_t>(i)];
    }
    fail(e.line, "'" + obj.type_name() + "' object is not subscriptable");
  }

  Value slice(const Value& obj, const Expr& e) {
    if (obj.kind != Value::Kind::list && obj.kind != Value::Kind::string)
      fail(e.line, "'" + obj.type_name() + "' object cannot be sliced");
    const std::vector<Value> items = items_of(obj, e.line);
    const auto n = static_cast<int64_t>(items.size());
    auto part = [&](int k) -> std::optional<int64_t> {
      if (!e.args[k]) return std::nullopt;
      const Value v = eval(*e.args[k]);
      if (v.kind == Value::Kind::none) return std::nullopt;
      if (v.kind != Value::Kind::integer) fail(e.line, "slice indices must be integers");
      return v.integer;
    };
    const int64_t step = part(3).value_or(1);
    if (step == 0) fail(e.line, "slice step cannot be zero");
    auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
      if (!v) return fallback;
      int64_t i = *v < 0 ? *v + n : *v;
      return step > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
    };
    const int64_t start = clamp(part(1), step > 0 ? 0 : n - 1), stop = clamp(part(2), step > 0 ? n : -1);
    List picked;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) picked.push_back(items[static_cast<size_t>(i)]);
    if (obj.kind == Value::Kind::list) return Value::of(std::move(picked));
    std::string s;
    for (const auto& c : picked) s += c.string;
    return Value::of(s);
  }

  std::vector<Value> positional(const Expr& e, size_t first) {
    std::vector<Value> out;
    for (size_t i = first; i < e.args.size(); ++i) out.push_back(eval(*e.args[i]));
    return out;
  }
  Value keyword(const Expr& e, const char* key, std::vector<Value>& pos, size_t at, Value fallback) {
    for (const auto& [k, v] : e.kwargs)
      if (k == key) return eval(*v);
    return at < pos.size() ? pos[at] : fallback;
  }

  Value call(const Expr& e) {
    const Expr& callee = *e.args[0];
    std::vector<Value> args = positional(e, 1);
    if (callee.kind == Expr::Kind::name && !lookup(callee.name).defined()) {
      const std::string& f = callee.name;
      if (f == "raise_exception")
        throw Error("the chat template refused the conversation: " + (args.empty() ? "" : args[0].str()),
                    name_ + ":" + std::to_string(e.line), "the template's own check; change the conversation");
      if (f == "namespace") {
        Map m;
        for (const auto& [k, v] : e.kwargs) assign(m, k, eval(*v));
        Value ns = Value::of(std::move(m));
        ns.is_namespace = true;
        return ns;
      }
      if (f == "strftime_now") {
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        localtime_r(&now, &tm);
        char buf[256];
        const size_t n = std::strftime(buf, sizeof buf, args.empty() ? "" : args[0].str().c_str(), &tm);
        return Value::of(std::string(buf, n));
      }
      if (f == "range") {
        int64_t start = 0, stop = 0, step = 1;
        for (const auto& a : args)
          if (a.kind != Value::Kind::integer) fail(e.line, "range() takes integers");
        if (args.size() == 1) stop = args[0].integer;
        else if (args.size() >= 2) start = args[0].integer, stop = args[1].integer;
        if (args.size() == 3) step = args[2].integer;
        if (step == 0 || args.empty() || args.size() > 3) fail(e.line, "bad arguments to range()");
        const double count = (static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step);
        if (count > kMaxIterations) fail(e.line, "range() of more than " + std::to_string(kMaxIterations) + " numbers");
        List l;
        for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) l.push_back(Value::of(i));
        return Value::of(std::move(l));
      }
      fail(e.line, "unknown function '" + f + "'");
    }
    if (callee.kind != Expr::Kind::attribute) fail(e.line, "'" + describe(callee) + "' is not callable");
    const Value obj = eval(*callee.args[0]);
    return method(obj, callee.name, args, e);
  }

  Value method(const Value& obj, const std::string& m, std::vector<Value>& args, const Expr& e) {
    auto str_arg = [&](size_t i, const std::string& fallback) {
      return i < args.size() && args[i].kind == Value::Kind::string ? args[i].string : fallback;
    };
    if (obj.kind == Value::Kind::string) {
      const std::string& s = obj.string;
      if (m == "strip") return Value::of(strip(s, str_arg(0, kWhitespace), true, true));
      if (m == "lstrip") return Value::of(strip(s, str_arg(0, kWhitespace), true, false));
      if (m == "rstrip") return Value::of(strip(s, str_arg(0, kWhitespace), false, true));
      if (m == "upper" || m == "lower") {
        std::string r = s;
        for (char& c : r) c = static_cast<char>(m == "upper" ? std::toupper(static_cast<unsigned char>(c))
                                                               : std::tolower(static_cast<unsigned char>(c)));
        return Value::of(r);
      }
      if (m == "startswith") return Value::of(s.rfind(str_arg(0, ""), 0) == 0);
      if (m == "endswith") {
        const std::string t = str_arg(0, "");
        return Value::of(s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0);
      }
      if (m == "replace") {
        const std::string from = str_arg(0, ""), to = str_arg(1, "");
        if (from.empty()) fail(e.line, "replace() with an empty pattern is not supported");
        std::string r;
        size_t at = 0;
        for (size_t k; (k = s.find(from, at)) != std::string::npos; at = k + from.size()) r += s.substr(at, k - at) + to;
        return Value::of(r + s.substr(at));
      }
      if (m == "split") {
        List parts;
        if (args.empty() || args[0].kind == Value::Kind::none) {
          for (size_t i = s.find_first_not_of(kWhitespace); i != std::string::npos;) {
            const size_t j = s.find_first_of(kWhitespace, i);
            parts.push_back(Value::of(s.substr(i, j - i)));
            i = j == std::string::npos ? j : s.find_first_not_of(kWhitespace, j);
          }
        } else {
          const std::string sep = str_arg(0, "");
          if (sep.empty()) fail(e.line, "split() with an empty separator");
          size_t at = 0;
          for (size_t k; (k = s.find(sep, at)) != std::string::npos; at = k + sep.size())
            parts.push_back(Value::of(s.substr(at, k - at)));
          parts.push_back(Value::of(s.substr(at)));
        }
        return Value::of(std::move(parts));
      }
      if (m == "join") {
        std::string r;
        const std::vector<Value> items = args.empty() ? std::vector<Value>{} : items_of(args[0], e.line);
        for (size_t i = 0; i < items.size(); ++i) r += (i ? s : "") + items[i].str();
        return Value::of(r);
      }
    }
    if (obj.kind == Value::Kind::map) {
      if (m == "items") {
        List l;
        for (const auto& [k, v] : *obj.map) l.push_back(Value::of(List{Value::of(k), v}));
        return Value::of(std::move(l));
      }
      if (m == "keys" || m == "values") {
        List l;
        for (const auto& [k, v] : *obj.map) l.push_back(m == "keys" ? Value::of(k) : v);
        return Value::of(std::move(l));
      }
      if (m == "get") {
        const Value* v = args.empty() ? nullptr : obj.find(args[0].str());
        return v ? *v : args.size() > 1 ? args[1] : Value::none();
      }
    }
    fail(e.line, "unsupported method '" + m + "' of a " + obj.type_name());
  }

  Value filter(const Expr& e) {
    const std::string& f = e.name;
    Value v = eval(*e.args[0]);
    std::vector<Value> args = positional(e, 1);
    if (f == "trim") return Value::of(strip(v.str(), args.empty() ? kWhitespace : args[0].str(), true, true));
    if (f == "length" || f == "count") {
      if (v.kind == Value::Kind::string) return Value::of(static_cast<int64_t>(code_points(v.string).size()));
      return Value::of(static_cast<int64_t>(items_of(v, e.line).size()));
    }
    if (f == "upper" || f == "lower") {
      std::vector<Value> none;
      return method(Value::of(v.str()), f, none, e);
    }
    if (f == "string") return Value::of(v.str());
    if (f == "safe" || (f == "list" && v.kind == Value::Kind::list)) return v;
    if (f == "list") return Value::of(items_of(v, e.line));
    if (f == "tojson") {
      const Value indent = keyword(e, "indent", args, 0, Value::none());
      const Value sort = keyword(e, "sort_keys", args, 99, Value::of(false));
      return Value::of(to_json(v, indent.kind == Value::Kind::integer ? static_cast<int>(indent.integer) : -1, sort.truthy()));
    }
    if (f == "first" || f == "last") {
      const std::vector<Value> items = items_of(v, e.line);
      return items.empty() ? Value() : f == "first" ? items.front() : items.back();
    }
    if (f == "join") {
      const std::string sep = keyword(e, "d", args, 0, Value::of(std::string())).str();
      std::vector<Value> none{Value::of(items_of(v, e.line))};
      return method(Value::of(sep), "join", none, e);
    }
    if (f == "default" || f == "d") {
      const bool boolean = keyword(e, "boolean", args, 1, Value::of(false)).truthy();
      const bool use_default = boolean ? !v.truthy() : !v.defined();
      return use_default ? (args.empty() ? Value::of(std::string()) : args[0]) : v;
    }
    if (f == "replace") return method(Value::of(v.str()), "replace", args, e);
    if (f == "items") {
      std::vector<Value> none;
      return method(v, "items", none, e);
    }
    if (f == "capitalize") {
      std::string s = v.str();
      for (size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char>(i == 0 ? std::toupper(static_cast<unsigned char>(s[i])) : std::tolower(static_cast<unsigned char>(s[i])));
      return Value::of(s);
    }
    if (f == "int") {
      if (v.kind == Value::Kind::string) {
        try { return Value::of(static_cast<int64_t>(std::stoll(v.string))); } catch (...) { return Value::of(int64_t{0}); }
      }
      return Value::of(static_cast<int64_t>(v.is_number() ? v.as_double() : 0));
    }
    if (f == "abs") {
      if (v.kind == Value::Kind::integer) return Value::of(v.integer < 0 ? -v.integer : v.integer);
      return Value::of(std::fabs(v.as_double()));
    }
    if (f == "reverse") {
      if (v.kind == Value::Kind::string) {
        auto cps = code_points(v.string);
        std::string r;
        for (auto it = cps.rbegin(); it != cps.rend(); ++it) r += *it;
        return Value::of(r);
      }
      std::vector<Value> items = items_of(v, e.line);
      std::reverse(items.begin(), items.end());
      return Value::of(std::move(items));
    }
    if (f == "selectattr" || f == "rejectattr") {
      if (args.empty()) fail(e.line, f + " needs an attribute name");
      const std::string attr = args[0].str();
      List kept;
      for (const Value& item : items_of(v, e.line)) {
        const Value* a = item.find(attr);
        const Value got = a ? *a : Value();
        bool ok;
        if (args.size() == 1) ok = got.truthy();
        else ok = apply_test(args[1].str(), got, std::vector<Value>(args.begin() + 2, args.end()), e);
        if (ok == (f == "selectattr")) kept.push_back(item);
      }
      return Value::of(std::move(kept));
    }
    if (f == "map") {
      const Value attr = keyword(e, "attribute", args, 99, Value());
      if (!attr.defined()) fail(e.line, "map() is supported with attribute= only");
      List out;
      for (const Value& item : items_of(v, e.line)) {
        const Value* a = item.find(attr.str());
        out.push_back(a ? *a : keyword(e, "default", args, 99, Value()));
      }
      return Value::of(std::move(out));
    }
    fail(e.line, "unsupported filter '" + f + "'");
  }

  bool test(const Expr& e) {
    const Expr& subject = *e.args[0];
    if ((e.name == "defined" || e.name == "undefined") && subject.kind == Expr::Kind::name &&
        is_global_function(subject.name) && !lookup(subject.name).defined())
      return e.name == "defined";
    return apply_test(e.name, eval(subject), positional(e, 1), e);
  }

  bool apply_test(const std::string& t, const Value& v, const std::vector<Value>& args, const Expr& e) const {
    using K = Value::Kind;
    if (t == "defined") return v.defined();
    if (t == "undefined") return !v.defined();
    if (t == "none") return v.kind == K::none;
    if (t == "string") return v.kind == K::string;
    if (t == "number") return v.kind == K::integer || v.kind == K::number;
    if (t == "integer") return v.kind == K::integer;
    if (t == "float") return v.kind == K::number;
    if (t == "boolean") return v.kind == K::boolean;
    if (t == "true") return v.kind == K::boolean && v.boolean;
    if (t == "false") return v.kind == K::boolean && !v.boolean;
    if (t == "mapping") return v.kind == K::map;
    if (t == "sequence") return v.kind == K::list || v.kind == K::string || v.kind == K::map;
    if (t == "iterable") return v.kind == K::list || v.kind == K::string || v.kind == K::map;
    if (t == "equalto" || t == "eq" || t == "==" || t == "sameas") return !args.empty() && equal(v, args[0]);
    if (t == "ne" || t == "!=") return args.empty() || !equal(v, args[0]);
    if (t == "odd" || t == "even") return v.kind == K::integer && (v.integer % 2 != 0) == (t == "odd");
    if (t == "divisibleby")
      return v.kind == K::integer && !args.empty() && args[0].kind == K::integer && args[0].integer != 0 &&
             v.integer % args[0].integer == 0;
    if (t == "in") return !args.empty() && contains(args[0], v, e.line);
    fail(e.line, "unsupported test 'is " + t + "'");
  }

  bool contains(const Value& container, const Value& item, int line) const {
    if (container.kind == Value::Kind::string) {
      if (item.kind != Value::Kind::string) fail(line, "'in <string>' requires a string");
      return container.string.find(item.string) != std::string::npos;
    }
    if (container.kind == Value::Kind::map) return item.kind == Value::Kind::string && container.find(item.string);
    for (const Value& x : items_of(container, line))
      if (equal(x, item)) return true;
    return false;
  }

  Value binary(const Expr& e) {
    const std::string& op = e.name;
    if (op == "and") {
      Value l = eval(*e.args[0]);
      return l.truthy() ? eval(*e.args[1]) : l;
    }
    if (op == "or") {
      Value l = eval(*e.args[0]);
      return l.truthy() ? l : eval(*e.args[1]);
    }
    const Value l = eval(*e.args[0]), r = eval(*e.args[1]);
    if (op == "~" || op == "+") {  // values that grow (s = s + s in a loop) are bounded too
      const auto size = [](const Value& v) {
        return v.kind == Value::Kind::list ? v.list->size() * 16 : v.kind == Value::Kind::string ? v.string.size() : 0;
      };
      if (size(l) + size(r) > kMaxOutput)
        fail(e.line, "a value of more than " + std::to_string(kMaxOutput >> 20) + " MiB");
    }
    if (op == "~") return Value::of(l.str() + r.str());
    if (op == "==") return Value::of(equal(l, r));
    if (op == "!=") return Value::of(!equal(l, r));
    if (op == "in") return Value::of(contains(r, l, e.line));
    if (op == "not in") return Value::of(!contains(r, l, e.line));
    if (!l.defined() || !r.defined())
      fail(e.line, "'" + describe(*e.args[l.defined() ? 1 : 0]) + "' is undefined (operator " + op + ")");
    using K = Value::Kind;
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int c;
      if (l.is_number() && r.is_number()) c = l.as_double() < r.as_double() ? -1 : l.as_double() > r.as_double();
      else if (l.kind == K::string && r.kind == K::string) c = l.string.compare(r.string);
      else fail(e.line, "cannot compare " + l.type_name() + " with " + r.type_name());
      return Value::of(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    if (op == "+" && l.kind == K::string && r.kind == K::string) return Value::of(l.string + r.string);
    if (op == "+" && l.kind == K::list && r.kind == K::list) {
      List joined = *l.list;
      joined.insert(joined.end(), r.list->begin(), r.list->end());
      return Value::of(std::move(joined));
    }
    if (op == "*" && ((l.kind == K::string && r.kind == K::integer) || (l.kind == K::integer && r.kind == K::string))) {
      const Value& text = l.kind == K::string ? l : r;
      const int64_t times = l.kind == K::integer ? l.integer : r.integer;
      if (times > 0 && text.string.size() * static_cast<uint64_t>(times) > kMaxOutput)
        fail(e.line, "a string repeated beyond " + std::to_string(kMaxOutput >> 20) + " MiB");
      std::string s;
      for (int64_t i = 0; i < times; ++i) s += text.string;
      return Value::of(s);
    }
    if (!l.is_number() || !r.is_number())
      fail(e.line, "unsupported operand types for " + op + ": '" + l.type_name() + "' and '" + r.type_name() + "'");
    const bool ints = l.kind != K::number && r.kind != K::number;
    const double a = l.as_double(), b = r.as_double();
    if ((op == "/" || op == "//" || op == "%") && b == 0) fail(e.line, "division by zero");
    if (op == "/") return Value::of(a / b);
    if (ints) {
      const int64_t x = l.kind == K::boolean ? l.boolean : l.integer, y = r.kind == K::boolean ? r.boolean : r.integer;
      int64_t z = 0;
      const bool overflow = op == "+" ? __builtin_add_overflow(x, y, &z)
                            : op == "-" ? __builtin_sub_overflow(x, y, &z)
                            : op == "*" ? __builtin_mul_overflow(x, y, &z)
                                        : false;
      if (overflow) fail(e.line, "integer overflow in " + op + " (sculpt's templates use 64-bit integers)");
      if (op == "+" || op == "-" || op == "*") return Value::of(z);
      if (op == "//") return Value::of(static_cast<int64_t>(std::floor(static_cast<double>(x) / static_cast<double>(y))));
      if (op == "%") return Value::of(((x % y) + y) % y);
      if (op == "**" && y >= 0) {
        const double p = std::pow(static_cast<double>(x), static_cast<double>(y));
        if (!(std::fabs(p) < 9.2e18)) fail(e.line, "integer overflow in ** (sculpt's templates use 64-bit integers)");
        return Value::of(static_cast<int64_t>(std::llround(p)));
      }
    }
    if (op == "+") return Value::of(a + b);
    if (op == "-") return Value::of(a - b);
    if (op == "*") return Value::of(a * b);
    if (op == "//") return Value::of(std::floor(a / b));
    if (op == "%") return Value::of(a - b * std::floor(a / b));
    if (op == "**") return Value::of(std::pow(a, b));
    fail(e.line, "unsupported operator " + op);
  }

  const std::string& name_;
  std::vector<Map> scopes_;
  int64_t iterations_ = 0;
};

}  // namespace
}  // namespace jinja

JinjaTemplate::JinjaTemplate(const std::string& source, std::string name)
    : source_(source), name_(std::move(name)), root_(jinja::parse(source, name_)) {}
JinjaTemplate::~JinjaTemplate() = default;
JinjaTemplate::JinjaTemplate(JinjaTemplate&&) noexcept = default;
JinjaTemplate& JinjaTemplate::operator=(JinjaTemplate&&) noexcept = default;

std::string JinjaTemplate::render(const nlohmann::ordered_json& context) const {
  check(context.is_object(), "the template context must be a JSON object", name_);
  const jinja::Value ctx = jinja::Value::from_json(context);
  std::string out;
  jinja::Renderer(name_, ctx).render(*root_, out);
  return out;
}

}  // namespace sculpt
