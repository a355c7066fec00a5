// The System V IPC sysctls of /proc/sys/kernel as one namespace serves them:
// who may write each, how a written text is parsed and checked, and what a
// read shows.
//
// Mirrors the kernel's handlers (ipc/ipc_sysctl.c, kernel/sysctl.c):
//   shmmax, shmall: proc_doulongvec_minmax(), no bounds;
//   shmmni, msgmni: proc_dointvec_minmax(), 0..IPCMNI;
//   msgmax, msgmnb: proc_dointvec_minmax(), 0..INT_MAX;
//   sem: proc_ipc_sem_dointvec(): four ints (semmsl, semmns, semopm,
//     semmni) with no bounds, then semmni checked against 0..IPCMNI: out of
//     range it is put back and the write fails with ERANGE, while the first
//     three keep what was written;
//   shm_next_id, sem_next_id, msg_next_id: proc_dointvec_minmax(),
//     0..INT_MAX (so -1, "unset", can be read but not written).
// A vector write stores each value as it is parsed: a bad value fails the
// write with EINVAL and leaves the ones before it stored. A write of more
// values than the entry holds stores what fits and reports fewer bytes
// taken; an empty write changes nothing and takes nothing.
//
// Who may write (ipc_permissions() and test_perm()): the limits are 0644
// root's, so euid 0 only, capabilities or not; the *_next_id files are 0444
// unless the writer has CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, whatever
// its euid. Everyone else gets EACCES, as at the kernel's open().
#ifndef SYSV_CORE_IPC_SYSCTL_H_
#define SYSV_CORE_IPC_SYSCTL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "core/ipc/credentials.h"
#include "core/ipc/limits.h"

namespace sysv::core {

// The files, numbered for the wire (0 is none).
enum class Sysctl : uint32_t {
  kShmmax = 1,
  kShmall = 2,
  kShmmni = 3,
  kSem = 4,
  kMsgmax = 5,
  kMsgmnb = 6,
  kMsgmni = 7,
  kShmNextId = 8,
  kSemNextId = 9,
  kMsgNextId = 10,
};
inline constexpr uint32_t kSysctlCount = 10;

inline bool IsSysctl(uint32_t value) { return value >= 1 && value <= kSysctlCount; }
inline bool IsNextIdSysctl(Sysctl file) {
  return file == Sysctl::kShmNextId || file == Sysctl::kSemNextId || file == Sysctl::kMsgNextId;
}

// The next ids of a namespace (-1: none set), as the kernel's ids[].next_id.
struct NextIds {
  int32_t shm = -1;
  int32_t sem = -1;
  int32_t msg = -1;
};

// 0 if `creds` may open `file` for writing, else EACCES.
int SysctlWriteError(Sysctl file, const Credentials& creds);

// The result of a write: 0 or the errno the write(2) fails with, and the
// bytes it took when it succeeds (write(2)'s return value).
struct SysctlWriteResult {
  int error = 0;
  size_t taken = 0;
};

// Writes `text` (one write(2) at offset 0) to `file` as the kernel's
// handler does, into `limits` and `next_ids`. Values stored before an
// error stay stored (see the file comment).
SysctlWriteResult WriteSysctl(Sysctl file, absl::string_view text, NamespaceLimits& limits, NextIds& next_ids);

// What a read of `file` shows (core/ipc/proc_format.h's text).
std::string ReadSysctl(Sysctl file, const NamespaceLimits& limits, const NextIds& next_ids);

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_SYSCTL_H_
