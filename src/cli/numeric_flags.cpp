#include "numeric_flags.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace sculpt::cli {

namespace {

bool is_floating(const CLI::Option& o) {
  const std::string type = o.get_type_name();  // "FLOAT", "FLOAT:POSITIVE", "FLOAT in [0 - 1]", ...
  return type.rfind("FLOAT", 0) == 0;
}

bool is_integer(const CLI::Option& o) {
  const std::string type = o.get_type_name();  // "INT", "UINT", "INT:NONNEGATIVE", ...
  return type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0;
}

// CLI11 (2.1) converts 64-bit integers with strtoll / strtoull and ignores their ERANGE, so
// 99999999999999999999 would silently become the largest value, and -1 an unsigned 2^64 - 1.
CLI::Validator integer_in_range(const std::string& accepted, bool is_unsigned) {
  return CLI::Validator(
      [accepted, is_unsigned](std::string& value) {
        // strtoull also reads "-1", as 2^64 - 1.
        if (is_unsigned && value.find('-') != std::string::npos)
          return value + " is negative (accepted: " + accepted + ")";
        errno = 0;
        char* end = nullptr;
        if (is_unsigned)
          (void)std::strtoull(value.c_str(), &end, 10);
        else
          (void)std::strtoll(value.c_str(), &end, 10);
        if (errno == ERANGE) return value + " is out of range (accepted: " + accepted + ")";
        return std::string();  // anything else is CLI11's conversion's to judge
      },
      "", "integer range");
}

}  // namespace

void require_finite_numbers(CLI::App& app) {
  for (CLI::Option* o : app.get_options()) {
    if (is_integer(*o)) {
      o->check(integer_in_range(o->get_type_name(), o->get_type_name().rfind("UINT", 0) == 0));
      continue;
    }
    if (!is_floating(*o)) continue;
    const std::string accepted = o->get_type_name();  // before this check joins the description
    o->check(CLI::Validator(
        [accepted](std::string& value) {
          double v = 0;
          std::size_t used = 0;
          try {
            v = std::stod(value, &used);
          } catch (const std::exception&) {  // not a number, or beyond double's range (1e999)
            return value + " is not a finite number (accepted: " + accepted + ")";
          }
          if (used != value.size() || !std::isfinite(v))
            return value + " is not a finite number (accepted: " + accepted + ")";
          // Some of these flags are floats: a value past float's range would become infinity.
          if (std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max()))
            return value + " is out of range (accepted: " + accepted + ")";
          return std::string();
        },
        "", "finite"));
  }
  for (CLI::App* sub : app.get_subcommands({})) require_finite_numbers(*sub);
}

}  // namespace sculpt::cli
