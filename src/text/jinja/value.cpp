// Jinja values with Python's semantics: truthiness, str(), repr(), equality and json.dumps.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ast.h"

namespace sculpt::jinja {

Value Value::from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return of(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned: return of(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_float: return of(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return of(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      for (const auto& e : j) l.push_back(from_json(e));
      return of(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      Map m;
      for (const auto& [k, v] : j.items()) m.emplace_back(k, from_json(v));
      return of(std::move(m));
    }
    default: return Value();
  }
}

bool Value::truthy() const {
  switch (kind) {
    case Kind::undefined: case Kind::none: return false;
    case Kind::boolean: return boolean;
    case Kind::integer: return integer != 0;
    case Kind::number: return number != 0;
    case Kind::string: return !string.empty();
    case Kind::list: return !list->empty();
    case Kind::map: return !map->empty();
  }
  return false;
}

namespace {
// Python's repr of a float: the shortest string that reads back, with ".0" for whole numbers.
std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

std::string string_repr(const std::string& s) {
  const char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == quote || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out + quote;
}
}  // namespace

std::string Value::str() const {
  switch (kind) {
    case Kind::undefined: return "";
    case Kind::string: return string;
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind) {
    case Kind::undefined: return "";
    case Kind::none: return "None";
    case Kind::boolean: return boolean ? "True" : "False";
    case Kind::integer: return std::to_string(integer);
    case Kind::number: return float_repr(number);
    case Kind::string: return string_repr(string);
    case Kind::list: {
      std::string s = "[";
      for (size_t i = 0; i < list->size(); ++i) s += (i ? ", " : "") + (*list)[i].repr();
      return s + "]";
    }
    case Kind::map: {
      std::string s = is_namespace ? "<Namespace {" : "{";
      for (size_t i = 0; i < map->size(); ++i)
        s += (i ? ", " : "") + string_repr((*map)[i].first) + ": " + (*map)[i].second.repr();
      return s + (is_namespace ? "}>" : "}");
    }
  }
  return "";
}

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::map) return nullptr;
  for (const auto& [k, v] : *map)
    if (k == key) return &v;
  return nullptr;
}

std::string Value::type_name() const {
  switch (kind) {
    case Kind::undefined: return "undefined";
    case Kind::none: return "NoneType";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::number: return "float";
    case Kind::string: return "str";
    case Kind::list: return "list";
    case Kind::map: return "dict";
  }
  return "";
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::undefined: case Value::Kind::none: return true;
    case Value::Kind::string: return a.string == b.string;
    case Value::Kind::list:
      return a.list->size() == b.list->size() &&
             std::equal(a.list->begin(), a.list->end(), b.list->begin(), [](const Value& x, const Value& y) { return equal(x, y); });
    case Value::Kind::map: {
      if (a.map->size() != b.map->size()) return false;
      for (const auto& [k, v] : *a.map) {
        const Value* o = b.find(k);
        if (!o || !equal(v, *o)) return false;
      }
      return true;
    }
    default: return false;
  }
}

namespace {
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // ensure_ascii=False: UTF-8 as it is
        }
    }
  }
  return out + "\"";
}

void json_into(std::string& out, const Value& v, int indent, bool sort_keys, int depth) {
  const std::string nl = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ') : "";
  const std::string close = indent >= 0 ? "\n" + std::string(static_cast<size_t>(indent * depth), ' ') : "";
  const char* sep = indent >= 0 ? "," : ", ";
  switch (v.kind) {
    case Value::Kind::undefined: case Value::Kind::none: out += "null"; return;
    case Value::Kind::boolean: out += v.boolean ? "true" : "false"; return;
    case Value::Kind::integer: out += std::to_string(v.integer); return;
    case Value::Kind::number: {
      const std::string r = v.str();
      out += r == "nan" ? "NaN" : r == "inf" ? "Infinity" : r == "-inf" ? "-Infinity" : r;
      return;
    }
    case Value::Kind::string: out += json_string(v.string); return;
    case Value::Kind::list:
      if (v.list->empty()) { out += "[]"; return; }
      out += "[";
      for (size_t i = 0; i < v.list->size(); ++i) {
        out += (i ? sep : "") + nl;
        json_into(out, (*v.list)[i], indent, sort_keys, depth + 1);
      }
      out += close + "]";
      return;
    case Value::Kind::map: {
      if (v.map->empty()) { out += "{}"; return; }
      std::vector<const std::pair<std::string, Value>*> items;
      for (const auto& kv : *v.map) items.push_back(&kv);
      if (sort_keys) std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
      out += "{";
      for (size_t i = 0; i < items.size(); ++i) {
        out += (i ? sep : "") + nl + json_string(items[i]->first) + ": ";
        json_into(out, items[i]->second, indent, sort_keys, depth + 1);
      }
      out += close + "}";
      return;
    }
  }
}
}  // namespace

std::string to_json(const Value& v, int indent, bool sort_keys) {
  std::string out;
  json_into(out, v, indent, sort_keys, 0);
  return out;
}

}  // namespace sculpt::jinja
