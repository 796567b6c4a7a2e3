// Numeric flags are refused at parse when their value is not a finite number: CLI11's own range
// validators (PositiveNumber, NonNegativeNumber, Range) compare with < and >, which NaN passes,
// and infinity passes "positive". One walk over the finished command tree adds the check to every
// floating-point option, so a flag added later is covered without anyone remembering to.
#pragma once
#include <CLI/CLI.hpp>

namespace sculpt::cli {

// Adds the finiteness check to every floating-point option of `app` and of its subcommands,
// recursively, and a range check to every integer option (values past 64 bits). The error names the flag, the value and the accepted type and range, e.g.
// "--learning-rate: nan is not a finite number (accepted: FLOAT:POSITIVE)".
void require_finite_numbers(CLI::App& app);

}  // namespace sculpt::cli
