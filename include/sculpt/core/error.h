// Errors carry what failed, where (file, line, tensor, shape) and a hint for the user.
// The CLI prints them as one `error:` line and exits non-zero.
#pragma once
#include <stdexcept>
#include <string>

namespace sculpt {

class Error : public std::runtime_error {
 public:
  Error(std::string what, std::string where = {}, std::string hint = {});

  const std::string& what_failed() const { return what_; }
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }
  // "where: what (hint: ...)" on one line.
  std::string one_line() const;

 private:
  std::string what_, where_, hint_;
};

// Throws Error when `condition` is false. A message built from strings (concatenations,
// std::to_string) is built before the call, whether or not the check fails: inside per-row or
// per-token loops, in the training step and in the core accessors every pass calls (Tensor::dim,
// Arena::alloc, ...) write `if (!condition) throw Error(...)` instead (rope's per-row check once
// made 49,000 allocations per training step).
inline void check(bool condition, const std::string& what, const std::string& where = {},
                  const std::string& hint = {}) {
  if (!condition) throw Error(what, where, hint);
}
// All-literal messages take this overload, which makes its strings only when the check fails.
inline void check(bool condition, const char* what, const char* where = "", const char* hint = "") {
  if (!condition) throw Error(what, where, hint);
}

}  // namespace sculpt
