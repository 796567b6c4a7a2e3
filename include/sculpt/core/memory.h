// Memory accounting shared by every layer: a line of a memory plan (what a component will hold,
// counted from shapes before it allocates), the process's measured peak, and the limits the
// kernel states. The plan of a whole training run is train/memory_plan.h.
#pragma once
#include <cstdint>
#include <string>

namespace sculpt {

struct MemoryLine {
  std::string item;    // "weights", "osft state", ...
  int64_t bytes = 0;
  std::string detail;  // how it was counted
};

// Bytes as "1234.5 MiB".
std::string format_mib(int64_t bytes);

// Peak resident memory of this process so far (getrusage).
int64_t peak_resident_bytes();

// The limit a cgroup file states ("max" or a byte count), or -1 when it states none.
int64_t parse_cgroup_limit(const std::string& text);

}  // namespace sculpt
