// shmctl, semctl and msgctl's reading commands by the core's numbers
// (core/ipc/ipc_constants.h), answered with the protocol's replies: for
// tools/ (ipcs, ipcrm -a), which list objects the same way whatever C
// library they were compiled against. Through sysv_shmctl() and friends a
// command exists only if that library numbers it (backends/ipc_abi.h), and
// DragonFly's has no *_STAT, *_STAT_ANY or *_INFO: listing through them
// would find nothing there.
//
// Each asks the daemon, which answers as it does sysv_*ctl() when the
// mapped tables cannot (same registry code, same permission checks).
#ifndef SYSV_COMPAT_CORE_CTL_H_
#define SYSV_COMPAT_CORE_CTL_H_

#include "core/protocol/wire.h"

namespace sysv::compat {

// What the command returns (an id, a count, a value), with `*reply`
// filled; -1 and errno as the system call would fail. Only IPC_STAT,
// *_STAT, *_STAT_ANY, IPC_INFO and *_INFO, and for sets GETVAL, GETPID,
// GETNCNT and GETZCNT; any other command is EINVAL, as is a negative id.
int ShmctlReply(int shmid, int core_cmd, core::wire::ShmCtlReply* reply);
int SemctlReply(int semid, int semnum, int core_cmd, core::wire::SemCtlReply* reply);
int MsgctlReply(int msqid, int core_cmd, core::wire::MsgCtlReply* reply);

}  // namespace sysv::compat

#endif  // SYSV_COMPAT_CORE_CTL_H_
