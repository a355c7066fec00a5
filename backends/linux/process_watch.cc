#include "backends/linux/process_watch.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"
#include "backends/linux/proc_stat.h"
#include "core/ipc/errno_status.h"

namespace sysv::linux_backend {
namespace {

using ::sysv::backend::UniqueFd;
using ::sysv::core::ErrnoStatus;

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
  return ProcStat{line->state, line->start_ticks};
}

absl::StatusOr<ProcStat> ReadProcStat(pid_t pid) {
  if (pid <= 0) return ErrnoStatus(EINVAL, absl::StrCat("bad pid ", pid));
  const std::string path = absl::StrCat("/proc/", pid, "/stat");
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ErrnoStatus(ESRCH, absl::StrCat("no process ", pid));
    return ErrnoStatus(errno, absl::StrCat("open ", path));
  }
  // The file is generated on read and is well under a page, but read until
  // EOF rather than trust one read().
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
  return ParseProcStat(contents);
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  if (!stat.ok()) return stat.status();
  return stat->start_time;
}

bool ProcessAlive(pid_t pid, uint64_t start_time) {
  absl::StatusOr<ProcStat> stat = ReadProcStat(pid);
  return stat.ok() && stat->start_time == start_time && stat->state != 'Z' &&
         stat->state != 'X' && stat->state != 'x';
}

}  // namespace sysv::linux_backend
