// The text of the kernel's System V IPC files under /proc, byte for byte as
// Linux (64-bit) prints them, so that programs that parse those files
// (util-linux ipcs, LTP's procfs checks) read libsysv's namespace from them:
//   /proc/sysvipc/shm, sem, msg: ipc/shm.c sysvipc_shm_proc_show(), sem.c
//     sysvipc_sem_proc_show(), msg.c sysvipc_msg_proc_show(), after the
//     header line each file starts with;
//   /proc/sys/kernel/{shmmax, ...}: kernel/sysctl.c proc_dointvec() and
//     proc_doulongvec_minmax() (values separated by tabs, then a newline).
#ifndef SYSV_CORE_IPC_PROC_FORMAT_H_
#define SYSV_CORE_IPC_PROC_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"

namespace sysv::core {

// The fields every kind's line has (key, id and mode first; the owner and
// creator after the kind's own).
struct ProcPerm {
  int32_t key = 0;
  int32_t id = 0;
  uint32_t mode = 0;  // for segments with SHM_DEST and SHM_LOCKED, as shm_perm.mode
  uint32_t uid = 0, gid = 0, cuid = 0, cgid = 0;
};

// One object's line, in the kernel's field order. Times are seconds since
// the epoch; pids and ids are printed unsigned as the kernel prints them.
struct ShmProcRow {
  ProcPerm perm;
  uint64_t segsz = 0;
  int32_t cpid = 0;
  int32_t lpid = 0;
  uint64_t nattch = 0;
  int64_t atime = 0, dtime = 0, ctime = 0;
  uint64_t rss = 0;   // bytes resident
  uint64_t swap = 0;  // bytes swapped out
};

struct SemProcRow {
  ProcPerm perm;
  uint64_t nsems = 0;
  int64_t otime = 0, ctime = 0;
};

struct MsgProcRow {
  ProcPerm perm;
  uint64_t cbytes = 0;
  uint64_t qnum = 0;
  int32_t lspid = 0;
  int32_t lrpid = 0;
  int64_t stime = 0, rtime = 0, ctime = 0;
};

// The whole file: header line, then one line per row in the given order
// (the kernel's is ascending index).
std::string ShmProcText(absl::Span<const ShmProcRow> rows);
std::string SemProcText(absl::Span<const SemProcRow> rows);
std::string MsgProcText(absl::Span<const MsgProcRow> rows);

// A sysctl file holding `values`: "%lu" (unsigned long entries: shmmax,
// shmall) or "%d" (int entries: shmmni, msgmax, msgmnb, msgmni, sem's four,
// *_next_id) each, tab separated, newline terminated.
std::string UnsignedSysctlText(absl::Span<const uint64_t> values);
std::string IntSysctlText(absl::Span<const int64_t> values);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_PROC_FORMAT_H_
