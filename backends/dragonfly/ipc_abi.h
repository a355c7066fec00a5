// DragonFly's System V IPC ABI, as libsysv presents it to programs built on
// DragonFly (backends/ipc_abi.h picks it by the C library compiled against;
// the names and their contract are backends/linux/ipc_abi.h's).
//
// An unmodified DragonFly program passes DragonFly's command numbers and
// flags (ipc_commands.h, checked below against its headers) and reads
// DragonFly's structs: struct ipc_perm with `key` and `seq`, msqid_ds with
// `msg_cbytes`, and no info structs (struct shminfo, seminfo and msginfo
// are the kernel's only: `#if defined(_KERNEL) || ...`). Commands DragonFly
// does not have are refused with EINVAL, as its kernel refuses them.
#ifndef SYSV_BACKENDS_DRAGONFLY_IPC_ABI_H_
#define SYSV_BACKENDS_DRAGONFLY_IPC_ABI_H_

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstdint>
#include <limits>

#include "backends/common/info_bytes.h"
#include "backends/common/ipc_command_table.h"
#include "backends/common/kernel_file.h"
#include "backends/dragonfly/ipc_commands.h"
#include "core/ipc/ipc_constants.h"
#include "core/protocol/wire.h"

namespace sysv::abi {

using backend::InfoBytes;
using backend::IpcCommand;
using backend::kNoSuchCommand;

inline constexpr char kName[] = "DragonFly libc";

constexpr int ShmctlCommand(int cmd) { return backend::TranslateCommand(dragonfly_backend::kShmctlCommands, cmd); }
constexpr int SemctlCommand(int cmd) { return backend::TranslateCommand(dragonfly_backend::kSemctlCommands, cmd); }
constexpr int MsgctlCommand(int cmd) { return backend::TranslateCommand(dragonfly_backend::kMsgctlCommands, cmd); }

constexpr int ShmctlCallerCommand(int core_cmd) {
  return backend::CallerCommand(dragonfly_backend::kShmctlCommands, core_cmd);
}
constexpr int SemctlCallerCommand(int core_cmd) {
  return backend::CallerCommand(dragonfly_backend::kSemctlCommands, core_cmd);
}
constexpr int MsgctlCallerCommand(int core_cmd) {
  return backend::CallerCommand(dragonfly_backend::kMsgctlCommands, core_cmd);
}

constexpr int ShmgetFlags(int shmflg) { return shmflg & dragonfly_backend::kShmgetFlags; }
constexpr int ShmatFlags(int shmflg) { return shmflg & dragonfly_backend::kShmatFlags; }
constexpr int MsgrcvFlags(int msgflg) { return msgflg & dragonfly_backend::kMsgrcvFlags; }

// key_t is long here; the protocol's keys are 32 bits. A key of 32 bits
// (what ftok() makes, read as signed or unsigned) is carried as those
// bits; a wider one would collide with another and is refused (false:
// EINVAL), where DragonFly's kernel keeps every long apart.
inline bool ProtocolKey(key_t key, core::Key* out) {
  if (key < std::numeric_limits<int32_t>::min() || key > static_cast<key_t>(std::numeric_limits<uint32_t>::max())) {
    return false;
  }
  *out = static_cast<core::Key>(static_cast<uint32_t>(key));
  return true;
}

inline void FillIpcPerm(const core::wire::WirePerm& perm, struct ipc_perm* out) {
  out->key = perm.key;
  out->uid = perm.uid;
  out->gid = perm.gid;
  out->cuid = perm.cuid;
  out->cgid = perm.cgid;
  out->mode = static_cast<mode_t>(perm.mode);
  out->seq = static_cast<unsigned short>(perm.seq);
}

inline key_t KeyOf(const struct ipc_perm& perm) { return perm.key; }
inline void SetMsgCbytes(struct msqid_ds* out, uint64_t cbytes) { out->msg_cbytes = cbytes; }
inline uint64_t MsgCbytes(const struct msqid_ds& ds) { return ds.msg_cbytes; }

// No command of DragonFly's translates to an info command: nothing to write.
inline InfoBytes ShmInfoBytes(int, const core::wire::ShmCtlReply&) { return InfoBytes{}; }
inline InfoBytes SemInfoBytes(const core::wire::SemCtlReply&) { return InfoBytes{}; }
inline InfoBytes MsgInfoBytes(const core::wire::MsgCtlReply&) { return InfoBytes{}; }
inline core::wire::ShmCtlReply ShmReplyOfInfo(int, const void*) { return {}; }
inline core::wire::SemCtlReply SemReplyOfInfo(const void*) { return {}; }
inline core::wire::MsgCtlReply MsgReplyOfInfo(const void*) { return {}; }

// ipc_commands.h's numbers are the headers'.
static_assert(IPC_CREAT == dragonfly_backend::kIpcCreat && IPC_EXCL == dragonfly_backend::kIpcExcl &&
              IPC_NOWAIT == dragonfly_backend::kIpcNowait);
static_assert(IPC_RMID == dragonfly_backend::kIpcRmid && IPC_SET == dragonfly_backend::kIpcSet &&
              IPC_STAT == dragonfly_backend::kIpcStat);
static_assert(SHM_RDONLY == dragonfly_backend::kShmRdonly && SHM_RND == dragonfly_backend::kShmRnd);
static_assert(GETNCNT == dragonfly_backend::kGetNcnt && GETPID == dragonfly_backend::kGetPid &&
              GETVAL == dragonfly_backend::kGetVal && GETALL == dragonfly_backend::kGetAll &&
              GETZCNT == dragonfly_backend::kGetZcnt && SETVAL == dragonfly_backend::kSetVal &&
              SETALL == dragonfly_backend::kSetAll && SEM_STAT == dragonfly_backend::kSemStat);
static_assert(SEM_UNDO == dragonfly_backend::kSemUndo && MSG_NOERROR == dragonfly_backend::kMsgNoError);
static_assert(sizeof(struct sembuf) == 6);  // as core::SemOp

// Kernel files libsysv stands in for: none. DragonFly has no
// /proc/sysvipc and no /proc/sys/kernel; its ipcs reads the kern.ipc.*
// sysctls (sysctlbyname of kern.ipc.shmsegs and friends, whole kernel
// tables), which libsysv does not serve.
using backend::IsListing;
using backend::KernelFile;
inline bool MaybeKernelFile(const char* /*path*/) { return false; }
inline KernelFile KernelFileOf(const char* /*path*/) { return KernelFile::kNone; }

}  // namespace sysv::abi

#endif  // SYSV_BACKENDS_DRAGONFLY_IPC_ABI_H_
