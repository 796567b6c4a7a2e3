#include "sculpt/core/memory.h"

#include <sys/resource.h>

#include <cstdio>
#include <exception>

namespace sculpt {

std::string format_mib(int64_t bytes) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

int64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

int64_t parse_cgroup_limit(const std::string& text) {
  if (text.empty() || text == "max") return -1;
  try {
    size_t used = 0;
    const unsigned long long v = std::stoull(text, &used);
    if (used != text.size()) return -1;
    // cgroup v1 writes "no limit" as a page-rounded LLONG_MAX.
    return v >= (1ull << 62) ? -1 : static_cast<int64_t>(v);
  } catch (const std::exception&) {
    return -1;
  }
}

}  // namespace sculpt
