// Logging to stderr with a global level. Messages are built with operator<< into one line.
#pragma once
#include <sstream>
#include <string>

namespace sculpt {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
void log_line(LogLevel level, const std::string& message);

template <typename... Args>
void log(LogLevel level, const Args&... args) {
  if (level < log_level()) return;
  std::ostringstream out;
  (out << ... << args);
  log_line(level, out.str());
}
template <typename... Args> void log_info(const Args&... args) { log(LogLevel::info, args...); }
template <typename... Args> void log_warn(const Args&... args) { log(LogLevel::warn, args...); }
template <typename... Args> void log_debug(const Args&... args) { log(LogLevel::debug, args...); }

// "1h05m" or "3m07s": ETAs and durations in progress lines.
std::string format_duration(double seconds);

}  // namespace sculpt
