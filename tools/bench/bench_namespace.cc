#include "tools/bench/bench_namespace.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "backends/common/environment.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "compat/daemon_launcher.h"
#include "core/ipc/errno_status.h"

namespace sysv::bench {
namespace {

constexpr int kStopTimeoutMs = 5000;

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

void SleepMs(int ms) {
  struct timespec delay = {ms / 1000, (ms % 1000) * 1000L * 1000L};
  nanosleep(&delay, nullptr);
}

// Waits up to `timeout_ms` for the process behind `handle` (a process
// handle, platform::OpenProcessHandle) to exit.
bool HandleExits(int handle, int timeout_ms) {
  struct pollfd fd = {handle, POLLIN, 0};
  int rc;
  while ((rc = poll(&fd, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  return rc > 0;
}

// The janitor's whole life: wait for the benchmark (`bench`, its parent) to
// die, then stop its daemon (`daemon`) and remove its directory. Runs in a
// forked child; never returns. The process handles are opened here, not
// inherited: DragonFly's (kqueues) do not survive fork. Both are opened
// before the parent is checked, so both named the right processes (the
// daemon is the benchmark's child: its pid cannot be reused while the
// benchmark lives).
[[noreturn]] void JanitorMain(pid_t bench, pid_t daemon, const std::string& dir) {
  absl::StatusOr<backend::UniqueFd> daemon_handle = platform::OpenProcessHandle(daemon);
  absl::StatusOr<backend::UniqueFd> bench_handle = platform::OpenProcessHandle(bench);
  if (!daemon_handle.ok()) _exit(0);  // nothing to stop
  const bool bench_alive = bench_handle.ok() && getppid() == bench;
  // Its own session: a Ctrl-C at the terminal ends the benchmark, and the
  // janitor must live on to clean up after it.
  setsid();
  // Holding the benchmark's stdout would keep a reader of that pipe (a test
  // script's $(...)) waiting for us.
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) dup2(null_fd, fd);
  }
  if (bench_alive) HandleExits(bench_handle->get(), -1);
  // Usually the benchmark did all this itself, and there is nothing to do.
  const int daemon_fd = daemon_handle->get();
  if (platform::SignalProcess(daemon_fd, daemon, SIGTERM) == 0 && !HandleExits(daemon_fd, kStopTimeoutMs)) {
    platform::SignalProcess(daemon_fd, daemon, SIGKILL);
    HandleExits(daemon_fd, kStopTimeoutMs);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  _exit(0);
}

}  // namespace

absl::StatusOr<std::string> FindBenchDaemon() {
  if (const char* path = backend::OurVariable(backend::kDaemonPathEnv); path != nullptr) {
    if (IsExecutable(path)) return std::string(path);
    return core::ErrnoStatus(ENOENT,
                             absl::StrCat("$", backend::kDaemonPathEnv, "=", path, " is not executable"));
  }
  std::vector<std::string> candidates;
  for (const char* env : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* runfiles = std::getenv(env); runfiles != nullptr && *runfiles != '\0') {
      candidates.push_back(absl::StrCat(runfiles, "/libsysv/daemon/sysvipcd"));
    }
  }
  if (const std::string exe = platform::ExecutablePath(); !exe.empty()) {
    candidates.push_back(absl::StrCat(exe, ".runfiles/libsysv/daemon/sysvipcd"));
  }
  for (const std::string& candidate : candidates) {
    if (IsExecutable(candidate)) return candidate;
  }
  return compat::FindDaemonBinary();
}

absl::StatusOr<std::unique_ptr<BenchNamespace>> BenchNamespace::Create(
    const std::vector<std::string>& daemon_flags) {
  std::unique_ptr<BenchNamespace> ns(new BenchNamespace);
  absl::StatusOr<std::string> binary = FindBenchDaemon();
  if (!binary.ok()) return binary.status();
  ns->daemon_binary_ = *binary;
  // /dev/shm as the default namespace uses: a memory file system under the
  // daemon's region files, as in production.
  for (const char* base : {"/dev/shm", "/tmp"}) {
    std::string pattern = absl::StrCat(base, "/sysvipc-bench-XXXXXX");
    if (mkdtemp(pattern.data()) != nullptr) {
      ns->dir_ = pattern;
      break;
    }
  }
  if (ns->dir_.empty()) return core::ErrnoStatus(errno, "cannot make a namespace directory");
  // From here on the destructor removes the directory, whatever fails next.
  if (absl::Status started = ns->StartDaemon(daemon_flags); !started.ok()) return started;
  ns->StartJanitor();
  setenv(backend::kDirEnv, ns->dir_.c_str(), 1);
  setenv(backend::kAutostartEnv, "0", 1);
  setenv(backend::kDaemonPathEnv, ns->daemon_binary_.c_str(), 1);
  return ns;
}

absl::Status BenchNamespace::StartDaemon(const std::vector<std::string>& daemon_flags) {
  std::vector<std::string> args = {daemon_binary_, absl::StrCat("--dir=", dir_), "--foreground"};
  args.insert(args.end(), daemon_flags.begin(), daemon_flags.end());
  const std::string log_path = backend::LogPath(dir_);
  const pid_t parent = getpid();
  daemon_ = fork();
  if (daemon_ < 0) return core::ErrnoStatus(errno, absl::StrCat("fork: ", std::strerror(errno)));
  if (daemon_ == 0) {
    // Out of the terminal's process group (Ctrl-C is for the benchmark), yet
    // gone with the benchmark whatever kills it (on Linux; DragonFly's
    // DieWithParent does not survive the exec below, and there the janitor
    // alone stops a daemon whose benchmark was killed).
    setsid();
    if (!platform::DieWithParent(parent, SIGTERM)) _exit(127);
    const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
    }
    if (log_fd >= 0) dup2(log_fd, STDERR_FILENO);
    unsetenv("LD_PRELOAD");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int waited = 0; waited < 10000; waited += 10) {
    int status = 0;
    if (waitpid(daemon_, &status, WNOHANG) == daemon_) {
      daemon_ = -1;
      return core::ErrnoStatus(
          ECHILD, absl::StrCat("sysvipcd exited at start (status ", status, "); see ", log_path));
    }
    if (compat::DaemonAnswers(backend::NamespaceDir{dir_})) return absl::OkStatus();
    SleepMs(10);
  }
  return core::ErrnoStatus(ETIMEDOUT, absl::StrCat("sysvipcd did not answer in ", dir_, "; see ", log_path));
}

void BenchNamespace::StartJanitor() {
  const pid_t bench = getpid();
  janitor_ = fork();
  if (janitor_ == 0) JanitorMain(bench, daemon_, dir_);
}

void BenchNamespace::StopDaemon() {
  if (daemon_ <= 0) return;
  kill(daemon_, SIGTERM);
  for (int waited = 0; waited < kStopTimeoutMs; waited += 10) {
    if (waitpid(daemon_, nullptr, WNOHANG) == daemon_) {
      daemon_ = -1;
      return;
    }
    SleepMs(10);
  }
  kill(daemon_, SIGKILL);
  while (waitpid(daemon_, nullptr, 0) < 0 && errno == EINTR) {
  }
  daemon_ = -1;
}

BenchNamespace::~BenchNamespace() {
  StopDaemon();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // The janitor ends by itself once we are gone; it is no child to reap
  // (nothing would wait for it before we exit anyway).
}

}  // namespace sysv::bench
