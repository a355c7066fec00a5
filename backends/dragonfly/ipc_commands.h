// DragonFly's System V IPC numbers and their translation to the core's
// (Linux's): the tables backends/dragonfly/ipc_abi.h answers with, kept
// free of OS headers so that they build and are unit-tested on Linux
// (ipc_commands_test.cc). ipc_abi.h static_asserts every value here
// against DragonFly's own headers, which the compile check evaluates
// (check_dragonfly_compile.sh).
//
// Values from DragonFly's sys/sys/ipc.h, sys/shm.h, sys/sem.h and
// sys/msg.h (read at f875a8eec79e1ede24a447f231db7c2b058e68cd). Beside
// Linux's they differ where it matters: semctl's value commands are 3..9
// (Linux 11..17), so DragonFly's GETNCNT is Linux's IPC_INFO; DragonFly has
// no IPC_INFO, *_INFO, *_STAT_ANY, SHM_STAT, MSG_STAT, SHM_LOCK/UNLOCK,
// MSG_EXCEPT, MSG_COPY, SHM_REMAP or SHM_EXEC, and its kernel answers an
// unknown command with EINVAL (sys/kern/sysv_shm.c sys_shmctl(), sysv_sem.c
// sys___semctl(), sysv_msg.c sys_msgctl(): "default: error = EINVAL").
#ifndef SYSV_BACKENDS_DRAGONFLY_IPC_COMMANDS_H_
#define SYSV_BACKENDS_DRAGONFLY_IPC_COMMANDS_H_

#include "backends/common/ipc_command_table.h"
#include "core/ipc/ipc_constants.h"
#include "core/msg/msg_queue.h"
#include "core/sem/sem_registry.h"

namespace sysv::dragonfly_backend {

// <sys/ipc.h>
inline constexpr int kIpcCreat = 001000;
inline constexpr int kIpcExcl = 002000;
inline constexpr int kIpcNowait = 004000;
inline constexpr int kIpcRmid = 0;
inline constexpr int kIpcSet = 1;
inline constexpr int kIpcStat = 2;
// <sys/shm.h>
inline constexpr int kShmRdonly = 010000;
inline constexpr int kShmRnd = 020000;
// <sys/sem.h>
inline constexpr int kGetNcnt = 3;
inline constexpr int kGetPid = 4;
inline constexpr int kGetVal = 5;
inline constexpr int kGetAll = 6;
inline constexpr int kGetZcnt = 7;
inline constexpr int kSetVal = 8;
inline constexpr int kSetAll = 9;
inline constexpr int kSemStat = 10;  // __BSD_VISIBLE; returns the id, as Linux's
inline constexpr int kSemUndo = 010000;
// <sys/msg.h>
inline constexpr int kMsgNoError = 010000;

inline constexpr backend::IpcCommand kShmctlCommands[] = {
    {kIpcRmid, core::kIpcRmid},
    {kIpcSet, core::kIpcSet},
    {kIpcStat, core::kIpcStat},
};
inline constexpr backend::IpcCommand kSemctlCommands[] = {
    {kIpcRmid, core::kIpcRmid}, {kIpcSet, core::kIpcSet},   {kIpcStat, core::kIpcStat},
    {kGetNcnt, core::kGetNcnt}, {kGetPid, core::kGetPid},   {kGetVal, core::kGetVal},
    {kGetAll, core::kGetAll},   {kGetZcnt, core::kGetZcnt}, {kSetVal, core::kSetVal},
    {kSetAll, core::kSetAll},   {kSemStat, core::kSemStat},
};
inline constexpr backend::IpcCommand kMsgctlCommands[] = {
    {kIpcRmid, core::kIpcRmid},
    {kIpcSet, core::kIpcSet},
    {kIpcStat, core::kIpcStat},
};

// The flag bits DragonFly's kernel reads, as the core's bits (the same
// values; static_asserts below). Every other bit it ignores, where the core
// would give Linux's meaning to some (04000 in shmget is SHM_HUGETLB there,
// 020000 in msgrcv MSG_EXCEPT): they are dropped before the core sees them.
//   shmget: IPC_CREAT, IPC_EXCL, mode & ACCESSPERMS (sysv_shm.c sys_shmget())
//   shmat:  SHM_RDONLY, SHM_RND (sys_shmat())
//   msgrcv: IPC_NOWAIT, MSG_NOERROR (sysv_msg.c sys_msgrcv())
inline constexpr int kShmgetFlags = kIpcCreat | kIpcExcl | core::kPermissionBits;
inline constexpr int kShmatFlags = kShmRdonly | kShmRnd;
inline constexpr int kMsgrcvFlags = kIpcNowait | kMsgNoError;

static_assert(kIpcCreat == core::kIpcCreat && kIpcExcl == core::kIpcExcl && kIpcNowait == core::kIpcNowait);
static_assert(kShmRdonly == core::kShmRdonly && kShmRnd == core::kShmRnd);
static_assert(kSemUndo == core::kSemUndo && kMsgNoError == core::kMsgNoError);

}  // namespace sysv::dragonfly_backend

#endif  // SYSV_BACKENDS_DRAGONFLY_IPC_COMMANDS_H_
