#include "sculpt/core/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>

#include "sculpt/core/error.h"

namespace sculpt {

namespace fs = std::filesystem;

namespace {

struct Held {
  int fd = -1;
  int count = 0;
};
std::mutex held_mutex;
std::map<std::string, Held>& held() {  // canonical directory → this process's lock on it
  static std::map<std::string, Held> h;
  return h;
}

std::string read_all(int fd) {
  std::string s;
  char buf[512];
  ssize_t n = 0;
  if (::lseek(fd, 0, SEEK_SET) < 0) return s;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string holder_line(const std::string& command) {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::time(nullptr);
  char when[32] = {};
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
  return "pid " + std::to_string(::getpid()) + " on " + host + ", sculpt " + command + " since " + when + "\n";
}

}  // namespace

RunLock::RunLock(const std::string& dir, const std::string& command) {
  fs::create_directories(dir);
  key_ = fs::canonical(dir).string();
  std::lock_guard<std::mutex> guard(held_mutex);
  Held& h = held()[key_];
  if (h.count > 0) {
    ++h.count;
    return;
  }
  const std::string path = (fs::path(dir) / kFileName).string();
  // O_NOFOLLOW: a planted symlink named sculpt.lock cannot redirect the write below elsewhere.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    held().erase(key_);
    throw Error(std::string("cannot open the run lock: ") + std::strerror(errno), path,
                "check that the output directory is writable");
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    const std::string holder = read_all(fd);
    ::close(fd);
    held().erase(key_);
    if (err == EWOULDBLOCK)
      throw Error("another sculpt run is using this output directory (" + (holder.empty() ? "holder unknown" : holder) + ")",
                  dir, "wait for it to finish, or choose another --output-dir");
    throw Error(std::string("cannot take the run lock: ") + std::strerror(err), path,
                "the file system may not support locks; choose another --output-dir");
  }
  const std::string line = holder_line(command);
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    // The lock holds without the note; only the message a competing run prints is poorer.
  }
  h.fd = fd;
  h.count = 1;
}

RunLock::~RunLock() {
  std::lock_guard<std::mutex> guard(held_mutex);
  auto it = held().find(key_);
  if (it == held().end() || --it->second.count > 0) return;
  ::close(it->second.fd);  // releases the flock
  held().erase(it);
}

}  // namespace sculpt
