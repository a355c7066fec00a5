// glibc's System V IPC ABI, as libsysv presents it to programs built on
// Linux (backends/ipc_abi.h picks it by the C library compiled against; the
// names and their contract are the same in every backend's ipc_abi.h).
//
// glibc numbers its *ctl commands and flags as Linux does, and the core
// uses Linux's numbers, so every translation here is the identity on the
// commands glibc has (static_asserts below); a number glibc does not have
// is one Linux's ksys_*ctl() refuses with EINVAL ("default: return
// -EINVAL"), which is what kNoSuchCommand makes compat/ answer.
#ifndef SYSV_BACKENDS_LINUX_IPC_ABI_H_
#define SYSV_BACKENDS_LINUX_IPC_ABI_H_

#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "backends/common/info_bytes.h"
#include "backends/common/ipc_command_table.h"
#include "backends/linux/kernel_files.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_queue.h"
#include "core/msg/msg_registry.h"
#include "core/protocol/wire.h"
#include "core/sem/sem_registry.h"

namespace sysv::abi {

using backend::BytesOf;
using backend::InfoBytes;
using backend::IpcCommand;
using backend::kNoSuchCommand;

// For logs and tests: whose ABI this is.
inline constexpr char kName[] = "glibc";

// The *ctl commands glibc's headers define, by facility.
inline constexpr IpcCommand kShmctlCommands[] = {
    {IPC_RMID, core::kIpcRmid},     {IPC_SET, core::kIpcSet},         {IPC_STAT, core::kIpcStat},
    {IPC_INFO, core::kIpcInfo},     {SHM_LOCK, core::kShmLock},       {SHM_UNLOCK, core::kShmUnlock},
    {SHM_STAT, core::kShmStat},     {SHM_INFO, core::kShmInfo},       {SHM_STAT_ANY, core::kShmStatAny},
};
inline constexpr IpcCommand kSemctlCommands[] = {
    {IPC_RMID, core::kIpcRmid},   {IPC_SET, core::kIpcSet},       {IPC_STAT, core::kIpcStat},
    {IPC_INFO, core::kIpcInfo},   {GETPID, core::kGetPid},        {GETVAL, core::kGetVal},
    {GETALL, core::kGetAll},      {GETNCNT, core::kGetNcnt},      {GETZCNT, core::kGetZcnt},
    {SETVAL, core::kSetVal},      {SETALL, core::kSetAll},        {SEM_STAT, core::kSemStat},
    {SEM_INFO, core::kSemInfo},   {SEM_STAT_ANY, core::kSemStatAny},
};
inline constexpr IpcCommand kMsgctlCommands[] = {
    {IPC_RMID, core::kIpcRmid}, {IPC_SET, core::kIpcSet},   {IPC_STAT, core::kIpcStat},
    {IPC_INFO, core::kIpcInfo}, {MSG_STAT, core::kMsgStat}, {MSG_INFO, core::kMsgInfo},
    {MSG_STAT_ANY, core::kMsgStatAny},
};

// The core's command for the caller's `cmd`, or kNoSuchCommand (EINVAL).
constexpr int ShmctlCommand(int cmd) { return backend::TranslateCommand(kShmctlCommands, cmd); }
constexpr int SemctlCommand(int cmd) { return backend::TranslateCommand(kSemctlCommands, cmd); }
constexpr int MsgctlCommand(int cmd) { return backend::TranslateCommand(kMsgctlCommands, cmd); }

// The caller's number for the core's `core_cmd`, or kNoSuchCommand: what a
// tool passes to its C library's *ctl to ask for it.
constexpr int ShmctlCallerCommand(int core_cmd) { return backend::CallerCommand(kShmctlCommands, core_cmd); }
constexpr int SemctlCallerCommand(int core_cmd) { return backend::CallerCommand(kSemctlCommands, core_cmd); }
constexpr int MsgctlCallerCommand(int core_cmd) { return backend::CallerCommand(kMsgctlCommands, core_cmd); }

// The flag words as the core reads them. glibc's bits are Linux's and the
// core's, so they pass whole: the core decides about every bit as Linux
// does (an unknown bit included).
constexpr int ShmgetFlags(int shmflg) { return shmflg; }
constexpr int ShmatFlags(int shmflg) { return shmflg; }
constexpr int MsgrcvFlags(int msgflg) { return msgflg; }

// The protocol's key for the caller's: key_t is int here, as on the wire.
static_assert(std::is_same_v<key_t, core::Key>);
inline bool ProtocolKey(key_t key, core::Key* out) {
  *out = key;
  return true;
}

// The struct ipc_perm every *_STAT answer carries.
inline void FillIpcPerm(const core::wire::WirePerm& perm, struct ipc_perm* out) {
  out->__key = perm.key;
  out->uid = perm.uid;
  out->gid = perm.gid;
  out->cuid = perm.cuid;
  out->cgid = perm.cgid;
  out->mode = static_cast<unsigned short>(perm.mode);
  out->__seq = static_cast<unsigned short>(perm.seq);
}

// The key of a struct ipc_perm and msqid_ds's byte count: private names
// in glibc.
inline key_t KeyOf(const struct ipc_perm& perm) { return perm.__key; }
inline void SetMsgCbytes(struct msqid_ds* out, uint64_t cbytes) { out->__msg_cbytes = cbytes; }
inline uint64_t MsgCbytes(const struct msqid_ds& ds) { return ds.__msg_cbytes; }

// shmctl IPC_INFO (struct shminfo) and SHM_INFO (struct shm_info).
inline InfoBytes ShmInfoBytes(int core_cmd, const core::wire::ShmCtlReply& reply) {
  if (core_cmd == core::kIpcInfo) {
    struct shminfo out;
    std::memset(&out, 0, sizeof(out));
    out.shmmax = reply.shmmax;
    out.shmmin = reply.shmmin;
    out.shmmni = reply.shmmni;
    out.shmseg = reply.shmseg;
    out.shmall = reply.shmall;
    return BytesOf(out);
  }
  if (core_cmd == core::kShmInfo) {
    struct shm_info out;
    std::memset(&out, 0, sizeof(out));
    out.used_ids = reply.used_ids;
    out.shm_tot = reply.shm_tot;
    out.shm_rss = reply.shm_rss;
    out.shm_swp = reply.shm_swp;
    out.swap_attempts = reply.swap_attempts;
    out.swap_successes = reply.swap_successes;
    return BytesOf(out);
  }
  return InfoBytes{};
}

// semctl IPC_INFO and SEM_INFO (struct seminfo).
inline InfoBytes SemInfoBytes(const core::wire::SemCtlReply& reply) {
  struct seminfo out;
  out.semmap = reply.semmap;
  out.semmni = reply.semmni;
  out.semmns = reply.semmns;
  out.semmnu = reply.semmnu;
  out.semmsl = reply.semmsl;
  out.semopm = reply.semopm;
  out.semume = reply.semume;
  out.semusz = reply.semusz;
  out.semvmx = reply.semvmx;
  out.semaem = reply.semaem;
  return BytesOf(out);
}

// msgctl IPC_INFO and MSG_INFO (struct msginfo).
inline InfoBytes MsgInfoBytes(const core::wire::MsgCtlReply& reply) {
  struct msginfo out;
  out.msgpool = reply.msgpool;
  out.msgmap = reply.msgmap;
  out.msgmax = reply.msgmax;
  out.msgmnb = reply.msgmnb;
  out.msgmni = reply.msgmni;
  out.msgssz = reply.msgssz;
  out.msgtql = reply.msgtql;
  out.msgseg = static_cast<unsigned short>(reply.msgseg);
  return BytesOf(out);
}

// What an info command wrote (the bytes of ShmInfoBytes() and the others),
// read back into the reply fields it came from: for tools, which ask
// through the C library.
inline core::wire::ShmCtlReply ShmReplyOfInfo(int core_cmd, const void* bytes) {
  core::wire::ShmCtlReply reply{};
  if (core_cmd == core::kIpcInfo) {
    struct shminfo in;
    std::memcpy(&in, bytes, sizeof(in));
    reply.shmmax = in.shmmax;
    reply.shmmin = in.shmmin;
    reply.shmmni = in.shmmni;
    reply.shmseg = in.shmseg;
    reply.shmall = in.shmall;
  } else if (core_cmd == core::kShmInfo) {
    struct shm_info in;
    std::memcpy(&in, bytes, sizeof(in));
    reply.used_ids = in.used_ids;
    reply.shm_tot = in.shm_tot;
    reply.shm_rss = in.shm_rss;
    reply.shm_swp = in.shm_swp;
    reply.swap_attempts = in.swap_attempts;
    reply.swap_successes = in.swap_successes;
  }
  return reply;
}

inline core::wire::SemCtlReply SemReplyOfInfo(const void* bytes) {
  struct seminfo in;
  std::memcpy(&in, bytes, sizeof(in));
  core::wire::SemCtlReply reply{};
  reply.semmap = in.semmap;
  reply.semmni = in.semmni;
  reply.semmns = in.semmns;
  reply.semmnu = in.semmnu;
  reply.semmsl = in.semmsl;
  reply.semopm = in.semopm;
  reply.semume = in.semume;
  reply.semusz = in.semusz;
  reply.semvmx = in.semvmx;
  reply.semaem = in.semaem;
  return reply;
}

inline core::wire::MsgCtlReply MsgReplyOfInfo(const void* bytes) {
  struct msginfo in;
  std::memcpy(&in, bytes, sizeof(in));
  core::wire::MsgCtlReply reply{};
  reply.msgpool = in.msgpool;
  reply.msgmap = in.msgmap;
  reply.msgmax = in.msgmax;
  reply.msgmnb = in.msgmnb;
  reply.msgmni = in.msgmni;
  reply.msgssz = in.msgssz;
  reply.msgtql = in.msgtql;
  reply.msgseg = in.msgseg;
  return reply;
}

// The flags and the commands the core names are glibc's.
static_assert(IPC_CREAT == core::kIpcCreat && IPC_EXCL == core::kIpcExcl && IPC_NOWAIT == core::kIpcNowait);
static_assert(SHM_RDONLY == core::kShmRdonly && SHM_RND == core::kShmRnd && SHM_REMAP == core::kShmRemap &&
              SHM_EXEC == core::kShmExec);
static_assert(SHM_HUGETLB == core::kShmHugetlb && SHM_NORESERVE == core::kShmNoreserve);
static_assert(SHM_DEST == core::kShmDest && SHM_LOCKED == core::kShmLocked);
static_assert(SEM_UNDO == core::kSemUndo);
static_assert(MSG_NOERROR == core::kMsgNoError && MSG_EXCEPT == core::kMsgExcept && MSG_COPY == core::kMsgCopy);

}  // namespace sysv::abi

#endif  // SYSV_BACKENDS_LINUX_IPC_ABI_H_
