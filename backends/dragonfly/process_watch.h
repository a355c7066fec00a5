// Recognising client processes by (pid, start time) on DragonFly, so that a
// reused pid is never taken for the process that had it before (DESIGN.md,
// decision 5). Exits themselves are watched by ExitWatch (exit_watch.h),
// with EVFILT_PROC / NOTE_EXIT.
//
// The role of backends/linux/process_watch.h. The start time comes from the
// process's struct kinfo_proc (sysctl KERN_PROC_PID; kinfo_sys.h), field
// kp_start: the time of its fork(), set once by microtime() in
// sys/kern/kern_fork.c and kept across exec, as Linux's starttime is.
//
// Portable: the sysctl is behind kinfo_sys.h and the record is decoded from
// bytes (layout in dragonfly_abi.h), so this file is tested on Linux.
//
// Differences from Linux, from the mechanism:
//   - The start time is in microseconds since the epoch (Linux: clock ticks
//     since boot). Either is only compared for equality and used in file
//     names; neither is a duration.
//   - A zombie has no record (pfind() skips zombies), so ReadKinfo() and
//     ProcessStartTime() answer ESRCH as soon as a process has exited, where
//     Linux reads a zombie's /proc/<pid>/stat until it is reaped.
#ifndef SYSV_BACKENDS_DRAGONFLY_PROCESS_WATCH_H_
#define SYSV_BACKENDS_DRAGONFLY_PROCESS_WATCH_H_

#include <sys/types.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace sysv::dragonfly_backend {

// The fields of a struct kinfo_proc that we use.
struct KinfoProc {
  int32_t pid = 0;              // kp_pid
  int32_t stat = 0;             // kp_stat: abi::kSidl ... abi::kScore
  uint64_t start_time_us = 0;   // kp_start, in microseconds since the epoch
};

// Decodes one struct kinfo_proc from `record` (DragonFly x86_64 layout,
// dragonfly_abi.h). Results: the fields; EINVAL if `record` is shorter than
// abi::kKinfoProcMinSize, or kp_stat is not a procstat value, or kp_start is
// not a valid time (negative, or tv_usec outside 0..999999).
absl::StatusOr<KinfoProc> ParseKinfoProc(absl::Span<const uint8_t> record);

// Reads and decodes the record of `pid`. Results: the fields; EINVAL for
// pid <= 0; ESRCH if there is no such process, or it is a zombie, or it is
// in another jail; EIO if the kernel answered a record of an unexpected
// size or for another pid; another errno of sysctl.
absl::StatusOr<KinfoProc> ReadKinfo(pid_t pid);

// The start time of `pid` (kp_start in microseconds). Together with the pid
// it names one process for ever. Results: as ReadKinfo.
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// True if the process `pid` that started at `start_time` is still running:
// it has a record (so it is not a zombie), with that start time (so the pid
// was not reused). False on any error.
bool ProcessAlive(pid_t pid, uint64_t start_time);

// The owner fields of a record: kp_uid (effective) and kp_ppid. Results:
// the fields; EINVAL if `record` is too short to hold them.
struct KinfoOwner {
  uint32_t euid = 0;
  int32_t ppid = 0;
};
absl::StatusOr<KinfoOwner> ParseKinfoOwner(absl::Span<const uint8_t> record);

// What the daemon reads of a process it may adopt as a child of a client
// (the role of backends/linux's ProcStat): its start time and its parent
// now (a reaper once the first parent died). Results: as ReadKinfo.
struct ProcStat {
  int32_t stat = 0;         // kp_stat
  uint64_t start_time = 0;  // as ProcessStartTime
  pid_t ppid = 0;           // kp_ppid
};
absl::StatusOr<ProcStat> ReadProcStat(pid_t pid);

// The effective uid of `pid` (kp_uid). Results: as ReadKinfo.
absl::StatusOr<uid_t> ProcessEffectiveUid(pid_t pid);

// Whether LWP `tid` (lwp_gettid() in that process) is a live thread of
// process `pid`: one of its KERN_PROC_FLAG_LWP records. False on any error.
bool IsThreadOf(pid_t pid, pid_t tid);

// The soft RLIMIT_MEMLOCK in bytes (UINT64_MAX: unlimited) from the text of
// procfs's /proc/<pid>/rlimit (sys/vfs/procfs/procfs_rlimit.c: one line per
// limit, "memlock <cur> <max>", -1 for RLIM_INFINITY). Results: the limit;
// EINVAL if there is no well-formed memlock line.
absl::StatusOr<uint64_t> ParseProcfsMemlock(absl::string_view rlimit_text);

// ProcessMemlockLimit(pid) from /proc/<pid>/rlimit, readable by anyone where
// procfs is mounted (it is not by default: then ENOENT, and the daemon
// counts the limit as 0, so only a privileged caller may SHM_LOCK).
// DragonFly has no sysctl for another process's limits. Results: the
// limit; ENOENT without procfs or without the process; EINVAL as above.
absl::StatusOr<uint64_t> ProcessMemlockLimit(pid_t pid);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PROCESS_WATCH_H_
