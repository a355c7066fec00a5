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

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_PROCESS_WATCH_H_
