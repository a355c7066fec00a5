#include "compat/daemon_launcher.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <sys/file.h>
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
#include "backends/common/environment.h"
#include "backends/common/namespace_layout.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "compat/daemon_connection.h"
#include "core/ipc/errno_status.h"

extern char** environ;

namespace sysv::compat {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return platform::RawFstatAt(AT_FDCWD, path.c_str(), &st, 0) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
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
  if (const std::string exe = platform::ExecutablePath(); !exe.empty()) dirs.push_back(DirName(exe));
  return dirs;
}

// The last non-empty line of the log open as `fd` at `path` (read from its
// last 4 KiB: a long-lived log can be large), or a pointer to the file.
std::string LastLogLine(int fd, const std::string& path) {
  char tail[4096];
  const off_t end = lseek(fd, 0, SEEK_END);
  const off_t start = end > static_cast<off_t>(sizeof(tail)) ? end - static_cast<off_t>(sizeof(tail)) : 0;
  const ssize_t n = pread(fd, tail, sizeof(tail), start);
  std::string text(tail, n > 0 ? static_cast<size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const size_t newline = text.rfind('\n');
  const std::string line = newline == std::string::npos ? text : text.substr(newline + 1);
  return line.empty() ? absl::StrCat("see ", path) : absl::StrCat(line, " (log: ", path, ")");
}

// Whether a live daemon holds the namespace lock in the directory `dir_fd`.
bool NamespaceLocked(int dir_fd) {
  const backend::UniqueFd fd(openat(dir_fd, backend::kLockName, O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return false;
  // Closing the descriptor drops our shared lock, if we got it.
  return flock(fd.get(), LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
}

// The daemon's log in the verified directory `dir_fd`, opened for appending
// (the spawned daemon's stderr) and for reading its last line: never
// through a symlink, and only a regular file of ours (in a sticky
// directory, another user could have made the name first).
absl::StatusOr<backend::UniqueFd> OpenLog(int dir_fd, const std::string& path) {
  return backend::OpenOwnEntry(dir_fd, backend::kLogName, path, O_RDWR | O_CREAT | O_APPEND, 0644);
}

}  // namespace

absl::StatusOr<std::string> FindDaemonBinary() {
  std::vector<std::string> tried;
  if (const char* explicit_path = backend::OurVariable(backend::kDaemonPathEnv); explicit_path != nullptr) {
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

bool DaemonAnswers(const backend::NamespaceDir& dir) { return ConnectToDaemon(dir).ok(); }

bool AutostartEnabled() {
  if (backend::SecureExecution()) return false;
  const char* value = backend::OurVariable(backend::kAutostartEnv);
  return value == nullptr || std::strcmp(value, "0") != 0;
}

absl::Status StartDaemon(const backend::NamespaceDir& dir, int timeout_ms) {
  // Checked here too, not only by AutostartEnabled(): this is the call that
  // would run a program the environment names.
  if (backend::SecureExecution()) {
    return core::ErrnoStatus(EPERM, "a setuid, setgid or file-capability program never starts sysvipcd");
  }
  absl::StatusOr<backend::VerifiedDir> verified = backend::CreateNamespaceDir(dir);
  if (!verified.ok()) return verified.status();
  absl::StatusOr<std::string> binary = FindDaemonBinary();
  if (!binary.ok()) return binary.status();
  const std::string log_path = backend::LogPath(dir.path);
  absl::StatusOr<backend::UniqueFd> log = OpenLog(verified->fd.get(), log_path);
  if (!log.ok()) return log.status();

  const std::string dir_flag = absl::StrCat("--dir=", dir.path);
  std::vector<char*> argv = {const_cast<char*>(binary->c_str()), const_cast<char*>(dir_flag.c_str()),
                             nullptr};
  std::vector<std::string> env_storage;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!absl::StartsWith(*e, "LD_PRELOAD=")) env_storage.push_back(*e);
  }
  std::vector<char*> envp;
  for (std::string& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  // dup2 clears close-on-exec on the copy: the daemon keeps its stderr.
  posix_spawn_file_actions_adddup2(&actions, log->get(), STDERR_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, sysv::platform::kSpawnDetached);
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
  pid_t reaped;
  while ((reaped = waitpid(pid, &wstatus, 0)) < 0 && errno == EINTR) {
  }
  // It failed: its reason is the last line it wrote to the log. If no
  // other daemon holds the namespace (a read-only or full state directory,
  // ...), that is final: say so now rather than wait for a socket that will
  // never answer. If one does, it may be another client's daemon still
  // starting (two clients raced to start one): wait for its socket.
  const bool failed = reaped == pid && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0;
  if (failed && !NamespaceLocked(verified->fd.get())) {
    return core::ErrnoStatus(ECONNREFUSED, absl::StrCat("sysvipcd did not start for ", dir.path, ": ",
                                                        LastLogLine(log->get(), log_path)));
  }
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    absl::StatusOr<backend::UniqueFd> connected = ConnectToDaemon(dir);
    if (connected.ok()) return absl::OkStatus();
    if (core::ErrnoOf(connected.status()) == EPERM) return connected.status();
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, nullptr);
  }
  return core::ErrnoStatus(ECONNREFUSED, absl::StrCat("sysvipcd did not start for ", dir.path, ": ",
                                                      failed ? LastLogLine(log->get(), log_path) : "see " + log_path));
}

}  // namespace sysv::compat
