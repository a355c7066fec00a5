#include "compat/daemon_launcher.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "backends/common/namespace_layout.h"
#include "backends/linux/channel.h"
#include "core/ipc/errno_status.h"

extern char** environ;

namespace sysv::compat {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Directories that may sit beside sysvipcd: this library's and the program's.
std::vector<std::string> AnchorDirs() {
  std::vector<std::string> dirs;
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&FindDaemonBinary), &info) != 0 && info.dli_fname != nullptr) {
    char resolved[PATH_MAX];
    if (realpath(info.dli_fname, resolved) != nullptr) dirs.push_back(DirName(resolved));
  }
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n > 0) {
    exe[n] = '\0';
    dirs.push_back(DirName(exe));
  }
  return dirs;
}

}  // namespace

absl::StatusOr<std::string> FindDaemonBinary() {
  std::vector<std::string> tried;
  if (const char* explicit_path = std::getenv(backend::kDaemonPathEnv);
      explicit_path != nullptr && *explicit_path != '\0') {
    if (IsExecutable(explicit_path)) return std::string(explicit_path);
    return core::ErrnoStatus(ENOENT, absl::StrCat("$", backend::kDaemonPathEnv, "=", explicit_path,
                                                  " is not an executable file"));
  }
  for (const std::string& dir : AnchorDirs()) {
    for (const char* relative : {"/../daemon/sysvipcd", "/sysvipcd", "/../sbin/sysvipcd",
                                 "/../libexec/sysvipcd", "/../bin/sysvipcd"}) {
      const std::string candidate = absl::StrCat(dir, relative);
      tried.push_back(candidate);
      if (IsExecutable(candidate)) return candidate;
    }
  }
  if (const char* path = std::getenv("PATH"); path != nullptr) {
    for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
      const std::string candidate = absl::StrCat(dir, "/sysvipcd");
      if (IsExecutable(candidate)) return candidate;
    }
    tried.push_back("$PATH");
  }
  return core::ErrnoStatus(ENOENT, absl::StrCat("cannot find sysvipcd (set $", backend::kDaemonPathEnv,
                                                "); tried ", absl::StrJoin(tried, ", ")));
}

bool DaemonAnswers(const std::string& dir) {
  return linux_backend::ConnectSeqpacket(backend::SocketPath(dir)).ok();
}

bool AutostartEnabled() {
  const char* value = std::getenv(backend::kAutostartEnv);
  return value == nullptr || std::strcmp(value, "0") != 0;
}

absl::Status StartDaemon(const std::string& dir, int timeout_ms) {
  absl::StatusOr<std::string> binary = FindDaemonBinary();
  if (!binary.ok()) return binary.status();
  // The namespace directory must exist for the log file.
  (void)mkdir(dir.c_str(), 0755);

  const std::string dir_flag = absl::StrCat("--dir=", dir);
  std::vector<char*> argv = {const_cast<char*>(binary->c_str()), const_cast<char*>(dir_flag.c_str()),
                             nullptr};
  std::vector<std::string> env_storage;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "LD_PRELOAD=")) env_storage.push_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  const std::string log_path = backend::LogPath(dir);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, binary->c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    return core::ErrnoStatus(err, absl::StrCat("cannot start ", *binary, ": ", std::strerror(err)));
  }
  // sysvipcd exits once its detached child serves the socket (or failed).
  // The caller may ignore SIGCHLD, in which case waitpid reports ECHILD: the
  // connection attempts below decide either way.
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (DaemonAnswers(dir)) return absl::OkStatus();
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, nullptr);
  }
  return core::ErrnoStatus(ECONNREFUSED, absl::StrCat("sysvipcd did not start for ", dir, "; see ", log_path));
}

}  // namespace sysv::compat
