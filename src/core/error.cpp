#include "sculpt/core/error.h"

namespace sculpt {

namespace {
std::string compose(const std::string& what, const std::string& where, const std::string& hint) {
  std::string line = where.empty() ? what : where + ": " + what;
  if (!hint.empty()) line += " (hint: " + hint + ")";
  return line;
}
}  // namespace

Error::Error(std::string what, std::string where, std::string hint)
    : std::runtime_error(compose(what, where, hint)),
      what_(std::move(what)),
      where_(std::move(where)),
      hint_(std::move(hint)) {}

std::string Error::one_line() const {
  std::string line = std::runtime_error::what();
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

}  // namespace sculpt
