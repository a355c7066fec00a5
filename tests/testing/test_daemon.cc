#include "tests/testing/test_daemon.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sysv::testing {
namespace {

// True when the socket at `path` accepts connections for process `pid`. A
// connect alone is not enough after a restart: a killed daemon's listening
// socket can outlive it briefly (its io_uring is torn down asynchronously)
// and still accept, then reset. SO_PEERCRED of a connection names the
// process that called listen().
bool SocketAnswersFor(const std::string& path, pid_t pid) {
  const int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  if (ok) {
    ucred peer{};
    socklen_t length = sizeof(peer);
    ok = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) == 0 && peer.pid == pid;
  }
  close(fd);
  return ok;
}

pid_t LockHolder(const std::string& dir) {
  FILE* file = std::fopen(absl::StrCat(dir, "/sysvipcd.lock").c_str(), "r");
  if (file == nullptr) return -1;
  int pid = -1;
  if (std::fscanf(file, "%d", &pid) != 1) pid = -1;
  std::fclose(file);
  return pid;
}

// The namespace directories this test process made. They live outside
// $TEST_TMPDIR (see FreshNamespaceDir), so nobody else removes them: the
// test process does, when it exits. Forked children exit too, but only the
// process that made a directory removes it.
struct MadeDirs {
  std::mutex mu;
  pid_t owner = getpid();
  std::vector<std::string> dirs;
};

MadeDirs& Made() {
  static MadeDirs* made = new MadeDirs;
  return *made;
}

void RemoveMadeDirs() {
  MadeDirs& made = Made();
  std::lock_guard<std::mutex> lock(made.mu);
  if (getpid() != made.owner) return;
  for (const std::string& dir : made.dirs) {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
  made.dirs.clear();
}

void RememberMadeDir(const std::string& dir) {
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit(RemoveMadeDirs); });
  MadeDirs& made = Made();
  std::lock_guard<std::mutex> lock(made.mu);
  made.dirs.push_back(dir);
}

}  // namespace

std::string RunfilePath(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  if (srcdir == nullptr) return relative;
  return absl::StrCat(srcdir, "/libsysv/", relative);
}

void SharedNamespaceTest::SetUp() {
  dir_ = FreshNamespaceDir(tag_);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0) << dir_ << ": " << std::strerror(errno);
  daemon_ = std::make_unique<TestDaemon>(dir_, extra_flags_);
  daemon_->Start();
}

std::string FreshNamespaceDir(const std::string& tag) {
  // A Unix socket path must fit in 108 bytes, and $TEST_TMPDIR under Bazel's
  // sandbox is longer than that: use a short directory of our own.
  // /dev/shm where it exists: a memory file system, as the default
  // namespace uses, so resident-page counts (SHM_INFO) match the kernel's.
  for (const char* base : {"/dev/shm", "/tmp"}) {
    std::string pattern = absl::StrCat(base, "/sysvipc-test-", tag, "-XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) {
      RememberMadeDir(pattern);
      return pattern;
    }
  }
  return absl::StrCat("/tmp/sysvipc-test-", tag, "-", getpid());
}

TestDaemon::TestDaemon(std::string dir, std::vector<std::string> extra_flags)
    : dir_(std::move(dir)), extra_flags_(std::move(extra_flags)) {}

TestDaemon::~TestDaemon() {
  if (pid_ > 0) Stop();
}

void TestDaemon::Start() {
  const std::string binary = RunfilePath("daemon/sysvipcd");
  std::vector<std::string> args = {binary, absl::StrCat("--dir=", dir_), "--foreground"};
  args.insert(args.end(), extra_flags_.begin(), extra_flags_.end());
  setenv("SYSVIPC_DIR", dir_.c_str(), 1);
  setenv("SYSVIPC_AUTOSTART", "0", 1);
  setenv("SYSVIPCD", binary.c_str(), 1);
  pid_ = fork();
  ASSERT_GE(pid_, 0);
  if (pid_ == 0) {
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  const std::string socket = absl::StrCat(dir_, "/sysvipcd.sock");
  for (int i = 0; i < 1000; ++i) {
    int status = 0;
    ASSERT_EQ(waitpid(pid_, &status, WNOHANG), 0) << "sysvipcd exited early, status " << status;
    // Ours must be the daemon answering (a killed one can linger briefly).
    if (LockHolder(dir_) == pid_ && SocketAnswersFor(socket, pid_)) return;
    struct timespec ten_ms = {0, 10'000'000};
    nanosleep(&ten_ms, nullptr);
  }
  FAIL() << "sysvipcd did not answer at " << socket;
}

void TestDaemon::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

void TestDaemon::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace sysv::testing
