// Watching client processes: the daemon learns of a client's death from a
// pidfd (readable when the process exits; watched by the event loop) and
// recognises a pid that was reused by its start time (DESIGN.md, decision 5).
#ifndef SYSV_BACKENDS_LINUX_PROCESS_WATCH_H_
#define SYSV_BACKENDS_LINUX_PROCESS_WATCH_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/common/unique_fd.h"

namespace sysv::linux_backend {

// A pidfd for `pid` (pidfd_open(2), Linux 5.3): close-on-exec, and readable
// (POLLIN) once the process has exited, whether or not it is our child and
// whether or not it has been reaped. Unlike the pid, the pidfd cannot come to
// name another process. Results:
//   the pidfd;
//   ESRCH   no such process (it has already exited and been reaped);
//   EINVAL  pid <= 0 or names a thread that is not a thread-group leader;
//   ENOSYS  kernel older than 5.3;
//   EMFILE, ENFILE, ENODEV, ENOMEM.
absl::StatusOr<sysv::backend::UniqueFd> OpenPidfd(pid_t pid);

// What ProcessStartTime() reads from /proc/<pid>/stat.
struct ProcStat {
  char state = '?';         // field 3: R, S, D, Z (zombie), X (dead), ...
  uint64_t start_time = 0;  // field 22: clock ticks after boot
  pid_t ppid = 0;           // field 4: the parent now (a reaper once the first one died)
};

// Parses the contents of /proc/<pid>/stat (ParseProcStatLine, proc_stat.h).
// Results: the state and start time; EINVAL if the text is not in that
// format.
absl::StatusOr<ProcStat> ParseProcStat(absl::string_view stat);

// Reads and parses /proc/<pid>/stat. Results: as ParseProcStat; ESRCH if
// the process does not exist (ENOENT from /proc); EINVAL for pid <= 0;
// another errno of open/read.
absl::StatusOr<ProcStat> ReadProcStat(pid_t pid);

// The start time of `pid` in clock ticks after boot (field 22 of
// /proc/<pid>/stat). Together with the pid it names one process for ever:
// a reused pid gets a later start time. Results: as ReadProcStat.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// True if the process `pid` that started at `start_time` is still running:
// /proc/<pid>/stat exists, shows that start time (so the pid was not
// reused), and its state is neither zombie nor dead. A zombie counts as
// gone: it has exited and only waits for its parent to reap it, and the
// daemon reaps a client's resources at exit, not at reaping. False on any
// error reading /proc.
bool ProcessAlive(pid_t pid, uint64_t start_time);

// The effective uid of process `pid` now (the second number of the "Uid:"
// line of /proc/<pid>/status, which any user may read). Results: the uid;
// ESRCH if there is no such process; EINVAL if the file is not in its
// format.
absl::StatusOr<uid_t> ProcessEffectiveUid(pid_t pid);

// Whether the process of `pidfd` has exited (its pidfd is readable; a
// zombie has exited). Never blocks.
bool PidfdExited(int pidfd);

// One process for ever (DESIGN.md, decision 5): a pidfd, which cannot come to
// name another process, and the start time that names it in /proc. The
// pidfd is this backend's process descriptor (platform.h: readable once the
// process exits), hence the field's neutral name.
struct ProcessInstance {
  sysv::backend::UniqueFd process_fd;
  pid_t pid = 0;
  uint64_t start_time = 0;
};

// The process that connected the Unix socket `socket_fd`, whose SO_PEERCRED
// named `pid` and effective uid `euid`. SO_PEERPIDFD (Linux 6.5) gives a
// pidfd for that very process, taken by the kernel at connect(2). Older
// kernels: pidfd_open(pid), which names whatever process holds the pid now:
// it is taken for the connecting one only if its effective uid is `euid`
// (the owner of /proc/<pid>), so a pid reused by another user's process is
// never mistaken for the connecting one. The start time is read after the
// pidfd is had and checked against the pidfd afterwards (still running, so
// the pid still named it). Results: the instance; ESRCH if the process has
// exited (or, on an old kernel, the pid now names another user's process);
// the errnos of OpenPidfd and ReadProcStat.
absl::StatusOr<ProcessInstance> PeerProcess(int socket_fd, pid_t pid, uid_t euid);

// Whether thread `tid` belongs to process `pid`: /proc/<pid>/task/<tid>, or,
// for a process in another PID namespace (which numbers its threads its own
// way), a task of `pid` whose innermost NSpid is `tid`.
bool IsThreadOf(pid_t pid, pid_t tid);

// The soft RLIMIT_MEMLOCK of process `pid` in bytes (UINT64_MAX:
// unlimited), from /proc/<pid>/limits, which any user may read. Results: the
// limit; ESRCH if there is no such process; EINVAL if the file is not in
// its format.
absl::StatusOr<uint64_t> ProcessMemlockLimit(pid_t pid);

}  // namespace sysv::linux_backend

#endif  // SYSV_BACKENDS_LINUX_PROCESS_WATCH_H_
