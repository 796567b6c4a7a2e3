// Jinja source -> syntax tree. The template is cut into text and tags with jinja2's whitespace
// rules as transformers configures them (trim_blocks: the newline after a block tag goes;
// lstrip_blocks: spaces and tabs from the line start to a block tag go; '-' strips all
// whitespace on its side, '+' keeps it), then each tag's tokens are parsed by recursive descent
// with jinja2's operator precedence.
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "ast.h"
#include "sculpt/core/error.h"

namespace sculpt::jinja {

namespace {

struct Piece {
  enum class Kind { text, output, block } kind;
  std::string content;  // text, or the tag's inside
  int line = 0;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Cuts the source into text and tags, applying the whitespace rules.
std::vector<Piece> split(const std::string& src, const std::string& name) {
  std::vector<Piece> out;
  size_t pos = 0;
  int line = 1;
  auto line_at = [&](size_t p) {
    for (; pos < p; ++pos) line += src[pos] == '\n';
    return line;
  };
  bool strip_next_text = false, trim_next_newline = false;
  size_t cursor = 0;
  while (cursor <= src.size()) {
    size_t open = src.find('{', cursor);
    while (open != std::string::npos && open + 1 < src.size() && std::strchr("{%#", src[open + 1]) == nullptr)
      open = src.find('{', open + 1);
    if (open + 1 >= src.size()) open = std::string::npos;
    const size_t text_end = open == std::string::npos ? src.size() : open;
    std::string text = src.substr(cursor, text_end - cursor);
    // Whether the text starts a line, counting what the previous tag consumed (as jinja2's
    // lexer does: the newline trimmed after a block belongs to that block's match).
    bool line_start = cursor == 0 || src[cursor - 1] == '\n';
    if (strip_next_text) {
      size_t k = 0;
      while (k < text.size() && is_space(text[k])) ++k;
      if (k > 0 && text[k - 1] == '\n') line_start = true;
      text.erase(0, k);
    } else if (trim_next_newline) {
      if (text.rfind("\r\n", 0) == 0) text.erase(0, 2), line_start = true;
      else if (!text.empty() && text[0] == '\n') text.erase(0, 1), line_start = true;
    }
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({Piece::Kind::text, text, line_at(cursor)});
      break;
    }
    const char kind = src[open + 1];
    size_t inner = open + 2;
    const bool minus_before = inner < src.size() && src[inner] == '-';
    const bool plus_before = inner < src.size() && src[inner] == '+';
    if (minus_before || plus_before) ++inner;
    if (minus_before) {
      while (!text.empty() && is_space(text.back())) text.pop_back();
    } else if (kind != '{' && !plus_before) {  // lstrip_blocks
      const size_t nl = text.rfind('\n');
      const size_t from = nl == std::string::npos ? 0 : nl + 1;
      if ((nl != std::string::npos || line_start) && text.find_first_not_of(" \t", from) == std::string::npos) text.erase(from);
    }
    if (!text.empty()) out.push_back({Piece::Kind::text, text, line_at(cursor)});
    // Find the closing delimiter outside string literals.
    const char close = kind == '{' ? '}' : kind == '%' ? '%' : '#';
    size_t end = inner;
    char quote = 0;
    for (; end + 1 < src.size(); ++end) {
      const char c = src[end];
      if (kind != '#') {
        if (quote) {
          if (c == '\\') ++end;
          else if (c == quote) quote = 0;
          continue;
        }
        if (c == '\'' || c == '"') { quote = c; continue; }
      }
      if (c == close && src[end + 1] == '}') break;
    }
    const int tag_line = line_at(open);
    if (end + 1 >= src.size())
      throw Error(std::string("unclosed '{") + kind + "' tag", name + ":" + std::to_string(tag_line));
    size_t content_end = end;
    const bool minus_after = content_end > inner && src[content_end - 1] == '-';
    if (minus_after || (content_end > inner && src[content_end - 1] == '+')) --content_end;
    const std::string content = src.substr(inner, content_end - inner);
    if (kind == '{') out.push_back({Piece::Kind::output, content, tag_line});
    else if (kind == '%') out.push_back({Piece::Kind::block, content, tag_line});
    strip_next_text = minus_after;
    trim_next_newline = kind != '{';
    cursor = end + 2;
    if (cursor >= src.size()) break;
  }
  return out;
}

struct Token {
  enum class Kind { name, string, integer, number, op, end } kind;
  std::string text;
  int64_t integer = 0;
  double number = 0;
};

std::vector<Token> tokenize(const std::string& s, const std::string& where) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (is_space(c)) { ++i; continue; }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      out.push_back({Token::Kind::name, s.substr(i, j - i)});
      i = j;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      bool is_float = j + 1 < s.size() && s[j] == '.' && std::isdigit(static_cast<unsigned char>(s[j + 1]));
      if (is_float) {
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {  // 1e20, 2.5e-3
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
          j = k;
          is_float = true;
        }
      }
      std::string digits;
      for (size_t k = i; k < j; ++k)
        if (s[k] != '_') digits += s[k];
      Token t{is_float ? Token::Kind::number : Token::Kind::integer, digits};
      if (is_float) {
        t.number = std::strtod(digits.c_str(), nullptr);  // 1e999 is inf, as in Python
      } else {
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), t.integer);
        if (ec != std::errc() || end != digits.data() + digits.size())
          throw Error("integer literal " + digits.substr(0, 30) + " is out of range", where,
                      "sculpt's templates use 64-bit integers");
      }
      out.push_back(t);
      i = j;
    } else if (c == '\'' || c == '"') {
      std::string value;
      size_t j = i + 1;
      for (; j < s.size() && s[j] != c; ++j) {
        if (s[j] != '\\' || j + 1 >= s.size()) { value += s[j]; continue; }
        const char e = s[++j];
        switch (e) {
          case 'n': value += '\n'; break;
          case 't': value += '\t'; break;
          case 'r': value += '\r'; break;
          case '\\': case '\'': case '"': value += e; break;
          default: value += '\\'; value += e;
        }
      }
      if (j >= s.size()) throw Error("unterminated string literal", where);
      out.push_back({Token::Kind::string, value});
      i = j + 1;
    } else {
      static const char* const two[] = {"==", "!=", "<=", ">=", "//", "**"};
      std::string op(1, c);
      for (const char* t : two)
        if (s.compare(i, 2, t) == 0) op = t;
      if (op.size() == 1 && std::strchr("+-*/%~|.,:()[]{}=<>!", c) == nullptr)
        throw Error(std::string("unexpected character '") + c + "'", where);
      out.push_back({Token::Kind::op, op});
      i += op.size();
    }
  }
  out.push_back({Token::Kind::end, ""});
  return out;
}

// Recursive descent over one tag's tokens, in jinja2's precedence order.
class ExprParser {
 public:
  ExprParser(std::vector<Token> tokens, std::string where, int line)
      : t_(std::move(tokens)), where_(std::move(where)), line_(line) {}

  ExprPtr expression_without_conditional() { return or_expr(); }
  bool at_end() const { return t_[p_].kind == Token::Kind::end; }
  bool peek_op(const char* op) const { return t_[p_].kind == Token::Kind::op && t_[p_].text == op; }
  bool peek_name(const char* n) const { return t_[p_].kind == Token::Kind::name && t_[p_].text == n; }
  bool accept_op(const char* op) { return peek_op(op) ? (++p_, true) : false; }
  bool accept_name(const char* n) { return peek_name(n) ? (++p_, true) : false; }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail(std::string("expected '") + op + "'");
  }
  std::string name() {
    if (t_[p_].kind != Token::Kind::name) fail("expected a name");
    return t_[p_++].text;
  }
  void expect_end() {
    if (!at_end()) fail("unexpected '" + t_[p_].text + "'");
  }
  [[noreturn]] void fail(const std::string& what) const {
    const std::string near = at_end() ? "the end of the tag" : "'" + t_[p_].text + "'";
    throw Error(what + " near " + near, where_, "the chat template may use Jinja that sculpt does not support");
  }

  ExprPtr expression() {  // a if c else b
    // Every nesting (parentheses, brackets, arguments, unary signs) passes through here or
    // unary(): a bound keeps a hostile template from exhausting the stack.
    const DepthGuard guard(*this);
    ExprPtr e = or_expr();
    if (accept_name("if")) {
      auto n = node(Expr::Kind::conditional);
      n->args.push_back(std::move(e));
      n->args.push_back(or_expr());
      n->args.push_back(accept_name("else") ? expression() : literal(Value()));
      return n;
    }
    return e;
  }

 private:
  static constexpr int kMaxDepth = 200;
  struct DepthGuard {
    explicit DepthGuard(ExprParser& p) : parser(p) {
      if (++parser.depth_ > kMaxDepth) parser.fail("expressions nested deeper than " + std::to_string(kMaxDepth));
    }
    ~DepthGuard() { --parser.depth_; }
    ExprParser& parser;
  };
  int depth_ = 0;

  ExprPtr node(Expr::Kind k) {
    auto n = std::make_unique<Expr>();
    n->kind = k;
    n->line = line_;
    return n;
  }
  ExprPtr literal(Value v) {
    auto n = node(Expr::Kind::literal);
    n->literal = std::move(v);
    return n;
  }
  ExprPtr binary(const std::string& op, ExprPtr l, ExprPtr r) {
    auto n = node(Expr::Kind::binary);
    n->name = op;
    n->args.push_back(std::move(l));
    n->args.push_back(std::move(r));
    return n;
  }
  ExprPtr or_expr() {
    ExprPtr e = and_expr();
    while (accept_name("or")) e = binary("or", std::move(e), and_expr());
    return e;
  }
  ExprPtr and_expr() {
    ExprPtr e = not_expr();
    while (accept_name("and")) e = binary("and", std::move(e), not_expr());
    return e;
  }
  ExprPtr not_expr() {
    if (accept_name("not")) {
      auto n = node(Expr::Kind::unary);
      n->name = "not";
      n->args.push_back(not_expr());
      return n;
    }
    return compare();
  }
  ExprPtr compare() {
    ExprPtr e = math1();
    for (;;) {
      std::string op;
      for (const char* o : {"==", "!=", "<=", ">=", "<", ">"})
        if (accept_op(o)) { op = o; break; }
      if (op.empty() && accept_name("in")) op = "in";
      if (op.empty() && peek_name("not") && t_[p_ + 1].kind == Token::Kind::name && t_[p_ + 1].text == "in") {
        p_ += 2;
        op = "not in";
      }
      if (op.empty()) return e;
      e = binary(op, std::move(e), math1());
    }
  }
  ExprPtr math1() {
    ExprPtr e = concat();
    for (;;) {
      if (accept_op("+")) e = binary("+", std::move(e), concat());
      else if (accept_op("-")) e = binary("-", std::move(e), concat());
      else return e;
    }
  }
  ExprPtr concat() {
    ExprPtr e = math2();
    while (accept_op("~")) e = binary("~", std::move(e), math2());
    return e;
  }
  ExprPtr math2() {
    ExprPtr e = power();
    for (;;) {
      std::string op;
      for (const char* o : {"*", "//", "/", "%"})
        if (accept_op(o)) { op = o; break; }
      if (op.empty()) return e;
      e = binary(op, std::move(e), power());
    }
  }
  ExprPtr power() {
    ExprPtr e = unary();
    while (accept_op("**")) e = binary("**", std::move(e), unary());
    return e;
  }
  // As jinja2: the operand of a sign takes no filters, the signed value does ((-3)|abs).
  ExprPtr unary(bool with_filters = true) {
    const DepthGuard guard(*this);
    ExprPtr e;
    if (accept_op("-")) {
      e = node(Expr::Kind::unary);
      e->name = "-";
      e->args.push_back(unary(false));
    } else if (accept_op("+")) {
      e = unary(false);
    } else {
      e = postfix(primary());
    }
    return with_filters ? filters_and_tests(std::move(e)) : std::move(e);
  }
  ExprPtr primary() {
    const Token& t = t_[p_];
    switch (t.kind) {
      case Token::Kind::string: {
        ++p_;
        std::string s = t.text;
        while (t_[p_].kind == Token::Kind::string) s += t_[p_++].text;  // adjacent literals join
        return literal(Value::of(s));
      }
      case Token::Kind::integer: ++p_; return literal(Value::of(t.integer));
      case Token::Kind::number: ++p_; return literal(Value::of(t.number));
      case Token::Kind::name: {
        ++p_;
        if (t.text == "true" || t.text == "True") return literal(Value::of(true));
        if (t.text == "false" || t.text == "False") return literal(Value::of(false));
        if (t.text == "none" || t.text == "None") return literal(Value::none());
        auto n = node(Expr::Kind::name);
        n->name = t.text;
        return n;
      }
      case Token::Kind::op:
        if (accept_op("(")) {
          ExprPtr e = expression();
          if (peek_op(",")) fail("tuples are not supported");
          expect_op(")");
          return e;
        }
        if (accept_op("[")) {
          auto n = node(Expr::Kind::list);
          while (!accept_op("]")) {
            n->args.push_back(expression());
            if (!accept_op(",")) { expect_op("]"); break; }
          }
          return n;
        }
        if (accept_op("{")) {
          auto n = node(Expr::Kind::dict);
          while (!accept_op("}")) {
            ExprPtr key = expression();
            if (key->kind != Expr::Kind::literal || key->literal.kind != Value::Kind::string)
              fail("dict keys must be string literals");
            expect_op(":");
            n->kwargs.emplace_back(key->literal.string, expression());
            if (!accept_op(",")) { expect_op("}"); break; }
          }
          return n;
        }
        break;
      case Token::Kind::end: break;
    }
    fail("expected an expression");
  }
  void call_arguments(Expr& n) {  // after '('
    while (!accept_op(")")) {
      if (t_[p_].kind == Token::Kind::name && t_[p_ + 1].kind == Token::Kind::op && t_[p_ + 1].text == "=") {
        std::string key = t_[p_].text;
        p_ += 2;
        n.kwargs.emplace_back(key, expression());
      } else {
        if (!n.kwargs.empty()) fail("a positional argument after a keyword argument");
        n.args.push_back(expression());
      }
      if (!accept_op(",")) { expect_op(")"); break; }
    }
  }
  ExprPtr postfix(ExprPtr e) {
    for (;;) {
      if (accept_op(".")) {
        auto n = node(Expr::Kind::attribute);
        n->name = name();
        n->args.push_back(std::move(e));
        e = std::move(n);
      } else if (accept_op("[")) {
        ExprPtr parts[3];
        bool is_slice = false;
        int k = 0;
        for (;;) {
          if (!peek_op(":") && !peek_op("]")) parts[k] = expression();
          if (accept_op(":")) {
            is_slice = true;
            if (++k > 2) fail("a slice has at most three parts");
            continue;
          }
          expect_op("]");
          break;
        }
        if (!is_slice && !parts[0]) fail("an empty subscript []");
        auto n = node(is_slice ? Expr::Kind::slice : Expr::Kind::index);
        n->args.push_back(std::move(e));
        for (int i = 0; i < (is_slice ? 3 : 1); ++i) n->args.push_back(parts[i] ? std::move(parts[i]) : nullptr);
        e = std::move(n);
      } else if (accept_op("(")) {
        auto n = node(Expr::Kind::call);
        n->args.push_back(std::move(e));
        call_arguments(*n);
        e = std::move(n);
      } else {
        return e;
      }
    }
  }
  ExprPtr filters_and_tests(ExprPtr e) {
    for (;;) {
      if (accept_op("|")) {
        auto n = node(Expr::Kind::filter);
        n->name = name();
        n->args.push_back(std::move(e));
        if (accept_op("(")) call_arguments(*n);
        e = std::move(n);
      } else if (accept_name("is")) {
        auto n = node(Expr::Kind::test);
        n->negated = accept_name("not");
        n->name = name();
        n->args.push_back(std::move(e));
        if (accept_op("(")) {
          call_arguments(*n);
        } else if (t_[p_].kind == Token::Kind::string || t_[p_].kind == Token::Kind::integer ||
                   t_[p_].kind == Token::Kind::number ||
                   (t_[p_].kind == Token::Kind::name && !peek_name("and") && !peek_name("or") &&
                    !peek_name("if") && !peek_name("else") && !peek_name("in") && !peek_name("not"))) {
          n->args.push_back(postfix(primary()));  // `x is sameas false`, `x is divisibleby 3`
        }
        e = std::move(n);
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  std::string where_;
  int line_;
};

class TemplateParser {
 public:
  TemplateParser(std::vector<Piece> pieces, std::string name) : pieces_(std::move(pieces)), name_(std::move(name)) {}

  std::unique_ptr<Node> parse_all() {
    std::string end;
    auto body = sequence({}, end);
    return body;
  }

 private:
  std::string where(int line) const { return name_ + ":" + std::to_string(line); }
  static std::unique_ptr<Node> make(Node::Kind k, int line) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->line = line;
    return n;
  }

  // Parses pieces into a sequence until a block tag whose first word is in `ends`; that word is
  // returned in `ended` and its parser left positioned after it in `tag_`.
  std::unique_ptr<Node> sequence(const std::vector<std::string>& ends, std::string& ended) {
    if (++depth_ > 200) throw Error("blocks nested deeper than 200", name_, "the chat template is not one sculpt can use");
    struct Leave {
      int& d;
      ~Leave() { --d; }
    } leave{depth_};
    auto seq = make(Node::Kind::sequence, i_ < pieces_.size() ? pieces_[i_].line : 0);
    while (i_ < pieces_.size()) {
      const Piece& p = pieces_[i_++];
      if (p.kind == Piece::Kind::text) {
        auto n = make(Node::Kind::text, p.line);
        n->text = p.content;
        seq->children.push_back(std::move(n));
        continue;
      }
      ExprParser ep(tokenize(p.content, where(p.line)), where(p.line), p.line);
      if (p.kind == Piece::Kind::output) {
        auto n = make(Node::Kind::output, p.line);
        n->expr = ep.expression();
        ep.expect_end();
        seq->children.push_back(std::move(n));
        continue;
      }
      const std::string word = ep.name();
      for (const auto& e : ends)
        if (word == e) {
          ended = word;
          tag_ = std::make_unique<ExprParser>(std::move(ep));
          return seq;
        }
      seq->children.push_back(statement(word, ep, p.line));
    }
    if (!ends.empty())
      throw Error("missing '{% " + ends.back() + " %}'", name_, "a block of the chat template is not closed");
    return seq;
  }

  std::unique_ptr<Node> statement(const std::string& word, ExprParser& ep, int line) {
    if (word == "if") {
      auto n = make(Node::Kind::if_, line);
      ExprPtr cond = ep.expression();
      ep.expect_end();
      for (;;) {
        std::string ended;
        auto body = sequence({"elif", "else", "endif"}, ended);
        n->branches.emplace_back(std::move(cond), std::move(body));
        if (ended == "elif") {
          cond = tag_->expression();
          tag_->expect_end();
          continue;
        }
        tag_->expect_end();
        if (ended == "else") {
          n->else_body = sequence({"endif"}, ended);
          tag_->expect_end();
        }
        return n;
      }
    }
    if (word == "for") {
      auto n = make(Node::Kind::for_, line);
      n->targets.push_back(ep.name());
      while (ep.accept_op(",")) n->targets.push_back(ep.name());
      if (!ep.accept_name("in")) ep.fail("expected 'in'");
      n->expr = ep.expression_without_conditional();
      if (ep.accept_name("if")) n->condition = ep.expression();
      if (ep.accept_name("recursive")) ep.fail("recursive loops are not supported");
      ep.expect_end();
      std::string ended;
      auto body = sequence({"else", "endfor"}, ended);
      n->children.push_back(std::move(body));
      tag_->expect_end();
      if (ended == "else") {
        n->else_body = sequence({"endfor"}, ended);
        tag_->expect_end();
      }
      return n;
    }
    if (word == "set") {
      auto n = make(Node::Kind::set, line);
      n->targets.push_back(ep.name());
      if (ep.accept_op(".")) n->targets.push_back(ep.name());
      if (ep.peek_op(",")) ep.fail("tuple assignment is not supported");
      if (!ep.accept_op("=")) ep.fail("block assignments ({% set x %}...{% endset %}) are not supported");
      n->expr = ep.expression();
      ep.expect_end();
      return n;
    }
    if (word == "break" || word == "continue") {
      ep.expect_end();
      return make(word == "break" ? Node::Kind::break_ : Node::Kind::continue_, line);
    }
    if (word == "generation") {  // transformers' marker of assistant text: renders its body
      ep.expect_end();
      std::string ended;
      auto body = sequence({"endgeneration"}, ended);
      tag_->expect_end();
      return body;
    }
    throw Error("unsupported Jinja statement '{% " + word + " %}'", where(line),
                "sculpt evaluates the Jinja subset of chat templates; pass a built-in one with --chat-template");
  }

  std::vector<Piece> pieces_;
  std::string name_;
  size_t i_ = 0;
  int depth_ = 0;
  std::unique_ptr<ExprParser> tag_;  // the parser of the tag that ended the last sequence
};

}  // namespace

std::unique_ptr<Node> parse(const std::string& source, const std::string& name) {
  // jinja2 drops one newline at the very end of a template (keep_trailing_newline is off).
  std::string body = source;
  if (body.size() >= 2 && body.compare(body.size() - 2, 2, "\r\n") == 0) body.resize(body.size() - 2);
  else if (!body.empty() && body.back() == '\n') body.pop_back();
  return TemplateParser(split(body, name), name).parse_all();
}

}  // namespace sculpt::jinja
