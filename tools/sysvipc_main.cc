// sysvipc: what users run.
//
//   sysvipc ipcs|ipcrm|ipcmk ARGS     util-linux's tools, on a libsysv namespace
//   sysvipc run [--] PROGRAM ARGS     run an unmodified program on libsysv
//   sysvipc daemon start|stop|status  manage the namespace's daemon
//   sysvipc bench [FLAGS]             the kernel and libsysv side by side
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "backends/common/environment.h"
#include "backends/common/namespace_dir.h"
#include "backends/common/namespace_layout.h"
#include "backends/platform.h"
#include "compat/daemon_launcher.h"
#include "tools/bench/bench_command.h"
#include "tools/ipcmk_command.h"
#include "tools/ipcrm_command.h"
#include "tools/ipcs_command.h"
#include "tools/libsysv_api.h"

namespace sysv::tools {
namespace {

constexpr char kUsage[] =
    "Usage:\n"
    "  sysvipc ipcs [options]            list objects (util-linux ipcs options, plus --json)\n"
    "  sysvipc ipcrm [options]           remove objects (util-linux ipcrm options)\n"
    "  sysvipc ipcmk [options]           create objects (util-linux ipcmk options)\n"
    "  sysvipc run [--] PROGRAM [ARGS]   run PROGRAM with libsysv preloaded, starting the daemon\n"
    "  sysvipc daemon start|stop|status  manage the daemon of the namespace\n"
    "  sysvipc bench [--json] [--quick]  benchmark the kernel and libsysv (bench --help)\n"
    "\n"
    "Environment: SYSVIPC_DIR (namespace directory), SYSVIPC_AUTOSTART=0 (never start a\n"
    "daemon), SYSVIPCD (daemon binary), SYSVIPC_LIB (libsysv.so to preload); all ignored\n"
    "in setuid, setgid and file-capability programs, which never start a daemon.\n"
    "The namespace directory must belong to you (or root, for SYSVIPC_DIR) and not be\n"
    "writable by others unless sticky; the default, /dev/shm/sysvipc-<uid> or\n"
    "$XDG_RUNTIME_DIR/sysvipc, must be yours alone.\n";

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// libsysv.so: $SYSVIPC_LIB, else beside this program as Bazel or an install
// lays it out.
std::string FindLibrary() {
  if (const char* lib = backend::OurVariable(backend::kLibraryEnv); lib != nullptr) return lib;
  const std::string exe = platform::ExecutablePath();
  if (exe.empty()) return "";
  const std::string dir = DirName(exe);
  for (const char* relative : {"/../compat/libsysv.so", "/../lib/libsysv.so", "/libsysv.so"}) {
    const std::string candidate = absl::StrCat(dir, relative);
    if (IsFile(candidate)) return candidate;
  }
  return "";
}

int EnsureDaemon(const backend::NamespaceDir& dir) {
  if (compat::DaemonAnswers(dir)) return 0;
  if (!compat::AutostartEnabled()) {
    std::fprintf(stderr, "sysvipc: no sysvipcd serves %s and SYSVIPC_AUTOSTART=0\n", dir.path.c_str());
    return 1;
  }
  absl::Status started = compat::StartDaemon(dir);
  if (!started.ok()) {
    std::fprintf(stderr, "sysvipc: %s\n", std::string(started.message()).c_str());
    return 1;
  }
  return 0;
}

bool IsHelp(const char* arg) { return std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0; }

int Run(int argc, char** argv) {
  int first = 0;
  // Options of `run` come before the program (or "--"); after them, every
  // word is the program's.
  if (first < argc && IsHelp(argv[first])) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (first < argc && std::strcmp(argv[first], "--") == 0) ++first;
  if (first >= argc) {
    std::fprintf(stderr, "sysvipc run: no program given\n%s", kUsage);
    return 2;
  }
  const backend::NamespaceDir dir = backend::ResolveNamespace();
  if (int status = EnsureDaemon(dir); status != 0) return status;
  const std::string library = FindLibrary();
  if (library.empty()) {
    std::fprintf(stderr, "sysvipc run: cannot find libsysv.so (set SYSVIPC_LIB)\n");
    return 1;
  }
  // After what the user already preloads (a sanitizer runtime, for one, must
  // come first); libsysv still precedes the C library, which is what counts.
  std::string preload = library;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0') {
    preload = absl::StrCat(existing, ":", library);
  }
  setenv("LD_PRELOAD", preload.c_str(), 1);
  setenv(backend::kDirEnv, dir.path.c_str(), 1);
  execvp(argv[first], argv + first);
  std::fprintf(stderr, "sysvipc run: cannot run %s: %s\n", argv[first], std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

// The pid in the lock file of a running daemon, or 0. Read through the
// verified directory, never a symlink: the pid is what `stop` signals.
pid_t DaemonPid(const backend::NamespaceDir& dir) {
  absl::StatusOr<backend::VerifiedDir> verified = backend::OpenNamespaceDir(dir);
  if (!verified.ok()) return 0;
  const int fd = openat(verified->fd.get(), backend::kLockName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return 0;
  char buffer[32] = {};
  const ssize_t got = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  const size_t n = got > 0 ? static_cast<size_t>(got) : 0;
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(std::string(buffer, n)), &pid)) return 0;
  return pid;
}

// The daemon's line on what serves segments (security driver or region
// files), as it wrote it at start; empty if absent.
std::string DriverStatus(const backend::NamespaceDir& dir) {
  absl::StatusOr<backend::VerifiedDir> verified = backend::OpenNamespaceDir(dir);
  if (!verified.ok()) return "";
  const int fd = openat(verified->fd.get(), backend::kDriverStatusName, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return "";
  char buffer[512] = {};
  const ssize_t got = read(fd, buffer, sizeof(buffer) - 1);
  close(fd);
  return std::string(absl::StripAsciiWhitespace(std::string(buffer, got > 0 ? static_cast<size_t>(got) : 0)));
}

int Daemon(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    if (IsHelp(argv[i])) {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  if (argc > 1) {
    std::fprintf(stderr, "sysvipc daemon: unexpected argument '%s'\n%s", argv[1], kUsage);
    return 2;
  }
  const backend::NamespaceDir dir = backend::ResolveNamespace();
  const char* const path = dir.path.c_str();
  const std::string command = argc > 0 ? argv[0] : "";
  if (command == "start") {
    if (compat::DaemonAnswers(dir)) {
      std::printf("sysvipcd (pid %d) already serves %s\n", DaemonPid(dir), path);
      return 0;
    }
    absl::Status started = compat::StartDaemon(dir);
    if (!started.ok()) {
      std::fprintf(stderr, "sysvipc: %s\n", std::string(started.message()).c_str());
      return 1;
    }
    std::printf("sysvipcd (pid %d) serves %s\n", DaemonPid(dir), path);
    return 0;
  }
  if (command == "stop") {
    if (!compat::DaemonAnswers(dir)) {
      std::printf("no sysvipcd serves %s\n", path);
      return 0;
    }
    const pid_t pid = DaemonPid(dir);
    if (pid <= 0 || kill(pid, SIGTERM) != 0) {
      std::fprintf(stderr, "sysvipc: cannot signal sysvipcd (pid %d): %s\n", pid, std::strerror(errno));
      return 1;
    }
    for (int i = 0; i < 500 && kill(pid, 0) == 0; ++i) usleep(10000);
    if (kill(pid, 0) == 0) {
      std::fprintf(stderr, "sysvipc: sysvipcd (pid %d) did not stop\n", pid);
      return 1;
    }
    std::printf("stopped sysvipcd (pid %d) of %s\n", pid, path);
    return 0;
  }
  if (command == "status") {
    if (compat::DaemonAnswers(dir)) {
      std::printf("sysvipcd (pid %d) serves %s\n", DaemonPid(dir), path);
      if (const std::string driver = DriverStatus(dir); !driver.empty()) std::printf("%s\n", driver.c_str());
      return 0;
    }
    std::printf("no sysvipcd serves %s\n", path);
    return 3;
  }
  std::fprintf(stderr, "sysvipc daemon: expected start, stop or status\n%s", kUsage);
  return 2;
}

int Main(int argc, char** argv) {
  if (argc < 2 || IsHelp(argv[1])) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string command = argv[1];
  // The util-linux commands see argv[0] as their own name.
  if (command == "ipcs") return RunIpcs(LibsysvIpcApi(), argc - 1, argv + 1, stdout, stderr);
  if (command == "ipcrm") return RunIpcrm(LibsysvIpcApi(), argc - 1, argv + 1, stdout, stderr);
  if (command == "ipcmk") return RunIpcmk(LibsysvIpcApi(), argc - 1, argv + 1, stdout, stderr);
  if (command == "run") return Run(argc - 2, argv + 2);
  if (command == "daemon") return Daemon(argc - 2, argv + 2);
  // Its own daemon in a fresh namespace, whatever SYSVIPC_DIR says.
  if (command == "bench") return bench::RunBench(argc - 1, argv + 1);
  std::fprintf(stderr, "sysvipc: unknown command '%s'\n%s", command.c_str(), kUsage);
  return 2;
}

}  // namespace
}  // namespace sysv::tools

int main(int argc, char** argv) { return sysv::tools::Main(argc, argv); }
