// sysvipcd: the System V IPC daemon of one namespace.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "backends/common/command_line.h"
#include "backends/common/event_loop.h"
#include "backends/common/namespace_dir.h"
#include "backends/common/namespace_layout.h"
#include "backends/common/unique_fd.h"
#include "backends/platform.h"
#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/namespace_state.h"
#include "daemon/server.h"

ABSL_FLAG(std::string, dir, "",
          "Namespace directory (socket and state). Default: $SYSVIPC_DIR, else "
          "$XDG_RUNTIME_DIR/sysvipc, else /dev/shm/sysvipc-<euid>. It must belong to this "
          "user or root and not be writable by others unless sticky (a per-user default: "
          "this user's alone).");
ABSL_FLAG(bool, foreground, false, "Stay in the foreground instead of detaching.");
ABSL_FLAG(std::string, event_loop, "auto", "Event loop: auto, io_uring or epoll.");
ABSL_FLAG(std::string, poll_window, absl::FormatDuration(sysv::daemon::kDefaultPollWindow),
          "After serving a batch of requests, keep polling for the next one this long before "
          "sleeping (a duration, 0 to 10ms; 0 turns it off): a request that comes within it is "
          "served without a wake-up. Adapts: shrinks while it ends in a sleep. Default 0 (off): "
          "it pays only where a CPU is idle; always off with one CPU online.");
ABSL_FLAG(std::string, driver, "auto",
          "Security driver /dev/sysvipc: auto (use it when it can be opened), on (fail "
          "to start without it) or off (segments in region files).");
ABSL_FLAG(std::string, log_level, "info", "Least severe level logged: debug, info, warning, error.");
ABSL_FLAG(std::string, config, "", "Config file of 'name = value' limit lines.");
ABSL_FLAG(bool, raise_fd_limit, true,
          "Raise the soft RLIMIT_NOFILE to the hard limit at start: each client costs four "
          "descriptors, and a soft limit of 1024 would turn most of 1,000 clients away.");
ABSL_FLAG(std::vector<std::string>, limit, {},
          "Limits as name=value pairs, comma-separated (e.g. shmmni=128,shmmax=1048576); "
          "they override the config file.");

namespace sysv::daemon {
namespace {

// Descriptors the daemon needs besides its clients': tables, directories,
// lock, event loop, exit watch, stop signals, log, and one in flight per reply.
constexpr rlim_t kReservedFds = 64;

// The most connections the daemon accepts within RLIMIT_NOFILE. Each costs
// two descriptors (the socket, and the connecting process's process_fd that binds
// it to that process), and the process behind it two more (its record's
// process_fd and attach ledger). Past the limit the daemon could not open a segment or a set for
// anyone (shmget and shmat would fail with EMFILE, which the kernel never
// gives) and accept would fail in a busy loop; refusing connections before
// that keeps the clients already connected fully served.
// The soft RLIMIT_NOFILE raised to the hard one (what a service manager's
// LimitNOFILE= would do); a failure only leaves fewer connections.
void RaiseFdLimit() {
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur >= nofile.rlim_max) return;
  nofile.rlim_cur = nofile.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &nofile);
}

int ConnectionLimit(int requested) {
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY) return requested;
  const rlim_t usable = nofile.rlim_cur > kReservedFds ? (nofile.rlim_cur - kReservedFds) / 4 : 1;
  return static_cast<int>(std::min<rlim_t>(static_cast<rlim_t>(requested), std::max<rlim_t>(usable, 1)));
}

// Fails the start with a clear message on stderr and exit status 1.
int Fail(const std::string& message) {
  std::fprintf(stderr, "sysvipcd: %s\n", message.c_str());
  return 1;
}

// Detaches into the background. The parent returns only once the child
// reports (through `ready_fd`) that it serves the socket, so whoever started
// the daemon can connect as soon as the parent exits. Returns the fd the child
// writes its verdict to, or -1 in the foreground.
int Detach() {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  const pid_t child = fork();
  if (child < 0) return -1;
  if (child > 0) {
    close(pipe_fds[1]);
    char verdict[512] = {};
    ssize_t n;
    do {
      n = read(pipe_fds[0], verdict, sizeof(verdict) - 1);
    } while (n < 0 && errno == EINTR);
    if (n > 0 && verdict[0] == '+') _exit(0);
    if (n > 1) std::fprintf(stderr, "sysvipcd: %s\n", verdict + 1);
    _exit(1);
  }
  close(pipe_fds[0]);
  setsid();
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    close(null_fd);
  }
  return pipe_fds[1];
}

void Report(int ready_fd, bool ok, const std::string& message) {
  if (ready_fd < 0) return;
  const std::string verdict = absl::StrCat(ok ? "+" : "-", message);
  (void)!write(ready_fd, verdict.data(), verdict.size());
  close(ready_fd);
}

// Records which backing serves segments where `sysvipc daemon status`
// reads it (backend::kDriverStatusName in the namespace directory).
void WriteDriverStatus(int dir_fd, const std::string& status) {
  backend::UniqueFd fd(openat(dir_fd, backend::kDriverStatusName,
                              O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) {
    SYSV_LOG(kWarning, "cannot write %s: %s", backend::kDriverStatusName, std::strerror(errno));
    return;
  }
  const std::string line = status + "\n";
  (void)!write(fd.get(), line.data(), line.size());
}

int Main(int argc, char** argv) {
  // The fd keeper is this binary too (backends/linux/fd_keeper.h), started
  // by the daemon with its socket as descriptor kListenFd.
  if (argc == 2 && std::strcmp(argv[1], platform::FdKeeper::kFlag) == 0) {
    return platform::RunFdKeeper(platform::FdKeeper::kListenFd);
  }
  std::vector<char*> rest = backend::ParseCommandLineOrExit(
      argc, argv,
      "serves System V shared memory, semaphores and message queues to libsysv clients.\n"
      "Usage: sysvipcd [--dir=DIR] [--foreground] [--event_loop=auto|io_uring|epoll]\n"
      "                [--poll_window=DURATION]\n"
      "                [--driver=auto|on|off]\n"
      "                [--config=FILE] [--limit=name=value,...] [--log_level=LEVEL]",
      "daemon/");
  if (rest.size() > 1) {
    Fail(absl::StrCat("unexpected argument '", rest[1], "' (see --help)"));
    return backend::kUsageErrorExit;
  }

  LogLevel level;
  if (!ParseLogLevel(absl::GetFlag(FLAGS_log_level), &level)) {
    return Fail(absl::StrCat("--log_level must be debug, info, warning or error, not '",
                             absl::GetFlag(FLAGS_log_level), "'"));
  }
  SetLogLevel(level);
  absl::StatusOr<backend::EventLoopKind> loop_kind =
      backend::ParseEventLoopKind(absl::GetFlag(FLAGS_event_loop));
  if (!loop_kind.ok()) return Fail(std::string(loop_kind.status().message()));
  absl::StatusOr<absl::Duration> poll_window = ParsePollWindow(absl::GetFlag(FLAGS_poll_window));
  if (!poll_window.ok()) {
    Fail(std::string(poll_window.status().message()));
    return backend::kUsageErrorExit;
  }
  absl::StatusOr<platform::DriverMode> driver_mode = platform::ParseDriverMode(absl::GetFlag(FLAGS_driver));
  if (!driver_mode.ok()) {
    Fail(std::string(driver_mode.status().message()));
    return backend::kUsageErrorExit;
  }

  ServerOptions options;
  // Without --dir, or with the one the environment resolves to (what a
  // client that auto-starts us passes), the namespace is what
  // ResolveNamespace() says: possibly the per-user default, which must be
  // this user's alone and is private. Any other --dir is a named namespace,
  // which may also be root's and may be shared.
  backend::NamespaceDir dir = backend::ResolveNamespace();
  if (const std::string named = absl::GetFlag(FLAGS_dir); !named.empty() && named != dir.path) {
    dir = backend::NamespaceDir{named, /*per_user=*/false};
  }
  options.dir = dir.path;
  if (const std::string config = absl::GetFlag(FLAGS_config); !config.empty()) {
    if (absl::Status status = ApplyConfigFile(options.limits, config); !status.ok()) {
      return Fail(std::string(status.message()));
    }
  }
  for (const std::string& pair : absl::GetFlag(FLAGS_limit)) {
    if (absl::Status status = ApplyConfigText(options.limits, pair); !status.ok()) {
      return Fail(absl::StrCat("--limit ", pair, ": ", status.message()));
    }
  }

  if (absl::GetFlag(FLAGS_raise_fd_limit)) RaiseFdLimit();
  options.max_connections = ConnectionLimit(options.max_connections);

  const int ready_fd = absl::GetFlag(FLAGS_foreground) ? -1 : Detach();
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<NamespaceState>> state = NamespaceState::Open(dir, options.limits);
  if (!state.ok()) {
    Report(ready_fd, false, std::string(state.status().message()));
    return Fail(std::string(state.status().message()));
  }
  absl::StatusOr<std::unique_ptr<backend::EventLoop>> loop = platform::MakeEventLoop(*loop_kind);
  if (!loop.ok()) {
    Report(ready_fd, false, std::string(loop.status().message()));
    return Fail(std::string(loop.status().message()));
  }

  // With one CPU online a client cannot send while we poll: off.
  const int cpus = platform::OnlineCpuCount();
  (*loop)->SetPollWindow(cpus > 1 ? *poll_window : absl::ZeroDuration());
  SYSV_LOG(kInfo, "poll window %s%s", absl::FormatDuration(*poll_window),
           cpus > 1 || *poll_window == absl::ZeroDuration() ? "" : " (off: one CPU online)");

  // SIGTERM and SIGINT end the loop cleanly, through a descriptor the loop
  // watches (without one they keep their default action: the daemon dies,
  // and a restart recovers its state).
  absl::StatusOr<backend::UniqueFd> stop_fd = platform::OpenStopSignals();
  backend::UniqueFd signal_fd = stop_fd.ok() ? *std::move(stop_fd) : backend::UniqueFd();

  absl::StatusOr<platform::ExitWatch> exits = platform::ExitWatch::Create();
  if (!exits.ok()) {
    Report(ready_fd, false, std::string(exits.status().message()));
    return Fail(std::string(exits.status().message()));
  }
  // The driver is opened before serving: --driver=on fails the start here.
  std::string why_no_driver;
  absl::StatusOr<std::unique_ptr<platform::SecurityDriver>> driver =
      platform::OpenSecurityDriverFor(*driver_mode, &why_no_driver);
  if (!driver.ok()) {
    const std::string message = absl::StrCat("--driver=on: ", driver.status().message());
    Report(ready_fd, false, message);
    return Fail(message);
  }
  options.driver = driver->get();
  const std::string driver_status =
      options.driver != nullptr
          ? absl::StrCat("security driver /dev/sysvipc (ABI ", options.driver->abi_version(),
                         "): segments are driver objects, attach counts from the kernel")
          : absl::StrCat("no security driver (", why_no_driver, "): segments are the daemon's own files");
  SYSV_LOG(kInfo, "%s", driver_status);
  WriteDriverStatus((*state)->dir_fd(), driver_status);
  Server server(options, *std::move(state), **loop, *std::move(exits));
  if (absl::Status status = server.Start(); !status.ok()) {
    Report(ready_fd, false, std::string(status.message()));
    return Fail(std::string(status.message()));
  }
  if (signal_fd.get() >= 0) {
    (void)(*loop)->Watch(signal_fd.get(), [&] {
      SYSV_LOG(kInfo, "stopping on a signal");
      (*loop)->Stop();
    });
  }
  Report(ready_fd, true, "");
  absl::Status run = (*loop)->Run();
  server.Shutdown();
  if (!run.ok()) {
    SYSV_LOG(kError, "event loop failed: %s", run.ToString());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sysv::daemon

int main(int argc, char** argv) { return sysv::daemon::Main(argc, argv); }
