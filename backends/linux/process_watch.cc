#include "backends/linux/process_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/proc_stat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoStatus;

// SO_PEERPIDFD (Linux 6.5), which older libc headers lack.
constexpr int kSoPeerPidfd = 77;

// The whole of a small /proc file. ESRCH for a missing process.
absl::StatusOr<std::string> ReadProcFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ErrnoStatus(ESRCH, absl::StrCat("no ", path));
    return ErrnoStatus(errno, absl::StrCat("open ", path));
  }
  // Generated on read: read until EOF rather than trust one read().
  std::string contents;
  char chunk[512];
  for (;;) {
    const ssize_t got = read(fd.get(), chunk, sizeof(chunk));
    if (got < 0) {
      if (errno == EINTR) continue;
      // ESRCH: the process went away between open() and read().
      return ErrnoStatus(errno, absl::StrCat("read ", path));
    }
    if (got == 0) break;
    contents.append(chunk, static_cast<size_t>(got));
  }
  return contents;
}

absl::StatusOr<UniqueFd> PeerPidfd(int socket_fd, pid_t pid, uid_t euid) {
  int pidfd = -1;
  socklen_t len = sizeof(pidfd);
  if (getsockopt(socket_fd, SOL_SOCKET, kSoPeerPidfd, &pidfd, &len) == 0) return UniqueFd(pidfd);
  if (errno != ENOPROTOOPT) return ErrnoStatus(errno, "getsockopt(SO_PEERPIDFD)");
  absl::StatusOr<UniqueFd> opened = OpenPidfd(pid);
  if (!opened.ok()) return opened.status();
  struct stat st{};
  const std::string dir = absl::StrCat("/proc/", pid);
  if (stat(dir.c_str(), &st) != 0 || st.st_uid != euid) {
    return ErrnoStatus(ESRCH, absl::StrCat("pid ", pid, " no longer names the process that connected"));
  }
  return opened;
}

}  // namespace

absl::StatusOr<UniqueFd> OpenPidfd(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("pidfd_open(", pid, ")"));
  // glibc 2.36 has a pidfd_open() wrapper, but older ones do not; the raw
  // system call works with both. The kernel sets O_CLOEXEC on pidfds.
  const long fd = syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("pidfd_open(", pid, ")"));
  return UniqueFd(static_cast<int>(fd));
}

absl::StatusOr<ProcStat> ParseProcStat(absl::string_view stat) {
  const std::optional<ProcStatLine> line = ParseProcStatLine(std::string_view(stat.data(), stat.size()));
  if (!line.has_value()) return ErrnoStatus(EINVAL, "/proc/<pid>/stat: not in its format");
  return ProcStat{line->state, line->start_ticks, static_cast<pid_t>(line->ppid)};
}

absl::StatusOr<ProcStat> ReadProcStat(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  absl::StatusOr<std::string> contents = ReadProcFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!contents.ok()) return contents.status();
  return ParseProcStat(*contents);
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  if (!stat.ok()) return stat.status();
  return stat->start_time;
}

absl::StatusOr<uid_t> ProcessEffectiveUid(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  absl::StatusOr<std::string> contents = ReadProcFile(absl::StrCat("/proc/", pid, "/status"));
  if (!contents.ok()) return contents.status();
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    if (!absl::ConsumePrefix(&line, "Uid:")) continue;
    std::vector<absl::string_view> ids = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    uint32_t euid = 0;
    if (ids.size() < 2 || !absl::SimpleAtoi(ids[1], &euid)) break;
    return static_cast<uid_t>(euid);
  }
  return ErrnoStatus(EINVAL, absl::StrCat("/proc/", pid, "/status has no Uid: line"));
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  return stat.ok() && stat->start_time == start_time && stat->state != 'Z' &&
         stat->state != 'X' && stat->state != 'x';
}

bool PidfdExited(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, 0);
  } while (ready < 0 && errno == EINTR);
  return ready != 0;  // readable, or an error: nothing to trust
}

absl::StatusOr<ProcessInstance> PeerProcess(int socket_fd, pid_t pid, uid_t euid) {
  absl::StatusOr<UniqueFd> pidfd = PeerPidfd(socket_fd, pid, euid);
  if (!pidfd.ok()) return pidfd.status();
  absl::StatusOr<uint64_t> start_time = ProcessStartTime(pid);
  if (!start_time.ok()) return start_time.status();
  // Still running after the read: the pid named the pidfd's process
  // throughout, so the start time is its own.
  if (PidfdExited(pidfd->get())) return ErrnoStatus(ESRCH, absl::StrCat("process ", pid, " has exited"));
  ProcessInstance instance;
  instance.process_fd = *std::move(pidfd);
  instance.pid = pid;
  instance.start_time = *start_time;
  return instance;
}

bool IsThreadOf(pid_t pid, pid_t tid) {
  if (pid <= 0 || tid <= 0) return false;
  const std::string task_dir = absl::StrCat("/proc/", pid, "/task");
  struct stat st{};
  if (stat(absl::StrCat(task_dir, "/", tid).c_str(), &st) == 0) return true;
  // Another PID namespace: the last NSpid field is the innermost number.
  DIR* dir = opendir(task_dir.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    absl::StatusOr<std::string> status = ReadProcFile(absl::StrCat(task_dir, "/", entry->d_name, "/status"));
    if (!status.ok()) continue;
    for (absl::string_view line : absl::StrSplit(*status, '\n')) {
      if (!absl::ConsumePrefix(&line, "NSpid:")) continue;
      std::vector<absl::string_view> ids = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
      int32_t inner = 0;
      found = !ids.empty() && absl::SimpleAtoi(ids.back(), &inner) && inner == tid;
      break;
    }
    if (found) break;
  }
  closedir(dir);
  return found;
}

absl::StatusOr<uint64_t> ProcessMemlockLimit(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  absl::StatusOr<std::string> limits = ReadProcFile(absl::StrCat("/proc/", pid, "/limits"));
  if (!limits.ok()) return limits.status();
  for (absl::string_view line : absl::StrSplit(*limits, '\n')) {
    if (!absl::ConsumePrefix(&line, "Max locked memory")) continue;
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.empty()) break;
    if (fields[0] == "unlimited") return UINT64_MAX;
    uint64_t soft = 0;
    if (!absl::SimpleAtoi(fields[0], &soft)) break;
    return soft;
  }
  return ErrnoStatus(EINVAL, absl::StrCat("/proc/", pid, "/limits: no RLIMIT_MEMLOCK line"));
}

}  // namespace sysv::linux_backend
