// RunLock: one run per output directory, across processes; re-entrant within one; released
// however its holder ends.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include "sculpt/core/error.h"
#include "sculpt/core/run_lock.h"
#include "test_support.h"

namespace sculpt {
namespace {

namespace fs = std::filesystem;

std::string lock_error(const std::string& dir) {
  try {
    RunLock lock(dir, "train");
  } catch (const Error& e) {
    return e.one_line();
  }
  return "";
}

// A child process that takes the lock of `dir`, says so through a pipe, and waits to be killed.
pid_t hold_in_child(const std::string& dir) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    RunLock lock(dir, "cl");
    const char ok = 1;
    if (::write(fds[1], &ok, 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(fds[1]);
  char ok = 0;
  EXPECT_EQ(::read(fds[0], &ok, 1), 1);
  ::close(fds[0]);
  return pid;
}

TEST(RunLock, ASecondProcessIsRefusedWithTheHolderNamed) {
  testing::TempDir d;
  const std::string dir = d / "out";
  const pid_t child = hold_in_child(dir);
  const std::string err = lock_error(dir);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string expected_start =
      dir + ": another sculpt run is using this output directory (pid " + std::to_string(child) + " on " + host +
      ", sculpt cl since ";
  EXPECT_EQ(err.rfind(expected_start, 0), 0u) << err;
  EXPECT_NE(err.find(" UTC) (hint: wait for it to finish, or choose another --output-dir)"), std::string::npos) << err;
  // Killed outright (no destructor, no cleanup): the kernel releases the lock; the next run takes it.
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(fs::exists(fs::path(dir) / RunLock::kFileName));
  EXPECT_EQ(lock_error(dir), "");
}

TEST(RunLock, ReentrantWithinAProcessAndReleasedByTheLastHolder) {
  testing::TempDir d;
  const std::string dir = d / "out";
  {
    RunLock outer(dir, "pretrain");
    {
      RunLock inner(dir + "/.", "train");  // the same directory spelled differently
    }
    // Still held by `outer`: another process is refused. (The child asks the kernel directly: a
    // forked child inherits this process's record of what it holds.)
    const pid_t pid = ::fork();
    if (pid == 0) {
      const int fd = ::open((fs::path(dir) / RunLock::kFileName).c_str(), O_RDWR);
      ::_exit(fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK ? 0 : 1);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the lock was not held after the inner release";
  }
  std::ifstream in(fs::path(dir) / RunLock::kFileName);
  std::string note((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(note.rfind("pid " + std::to_string(::getpid()) + " on ", 0), 0u) << note;
  EXPECT_EQ(lock_error(dir), "");
}

TEST(RunLock, APlantedSymlinkIsNotFollowed) {
  testing::TempDir d, outside;
  const std::string victim = testing::write_file(outside, "victim", "keep me");
  fs::create_directories(d.path / "out");
  fs::create_symlink(victim, d.path / "out" / RunLock::kFileName);
  EXPECT_NE(lock_error(d / "out"), "");
  std::ifstream in(victim);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "keep me");
}

}  // namespace
}  // namespace sculpt
