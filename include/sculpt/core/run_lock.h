// One run per output directory. Two `sculpt train` runs given the same --output-dir would
// interleave their metrics and race on each other's checkpoints; the second is refused at once,
// naming the holder. The lock is flock(2) on <dir>/sculpt.lock: the kernel drops it when its
// holder exits, however it exits, so a killed run leaves no stale lock to clean up (the file stays,
// naming the last holder) and resuming simply takes it again.
#pragma once
#include <string>

namespace sculpt {

class RunLock {
 public:
  // Creates `dir` if needed and takes its lock for `command` (train, cl, pretrain), or throws
  // Error naming the process (pid, host, command, start time) that holds it. Re-entrant within one
  // process: a command that locks its directory may call code that locks it again.
  RunLock(const std::string& dir, const std::string& command);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static constexpr const char* kFileName = "sculpt.lock";

 private:
  std::string key_;  // the directory, canonical
};

}  // namespace sculpt
