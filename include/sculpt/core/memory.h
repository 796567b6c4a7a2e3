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

// Peak resident memory of this process since it started or since the last
// reset_peak_resident (getrusage; Linux keeps the mark in the address space's high-water RSS).
int64_t peak_resident_bytes();
// Resident memory of this process now (/proc/self/statm), or -1 where the kernel does not say.
int64_t current_resident_bytes();
// Lowers the peak mark to the current resident memory (Linux: "5" to /proc/self/clear_refs),
// so that one phase of a longer process (a stage of `sculpt cl`) measures its own peak. Returns
// false where the kernel does not allow it; the mark then keeps the earlier phases.
bool reset_peak_resident();
// Returns the heap's free pages to the system (glibc malloc_trim): memory an earlier phase freed
// but the allocator kept would otherwise count in the next phase's peak.
void release_free_memory();

// The limit a cgroup file states ("max" or a byte count), or -1 when it states none.
int64_t parse_cgroup_limit(const std::string& text);

}  // namespace sculpt
