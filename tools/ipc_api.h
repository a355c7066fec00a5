// The System V IPC calls that ipcs, ipcrm and ipcmk make, as a table.
//
// The commands in this package never call shmget() and friends directly: they
// call through an IpcApi, so the same code lists, removes and creates objects
// in the kernel (KernelIpcApi()) or in libsysv (a table of the sysv_ functions
// from compat/include/sysv/sysv.h, built where libsysv is linked). Every entry
// behaves as the Linux system call of the same name: -1 (or (void*)-1 for
// shmat) and errno on failure.
//
// What the commands need from an implementation beyond IPC_STAT/IPC_RMID:
//   - shmctl SHM_INFO, semctl SEM_INFO, msgctl MSG_INFO return the highest
//     index in use (ipcs enumerates 0..that index; there is no /proc here),
//     and fill struct shm_info / seminfo / msginfo for `ipcs -u`;
//   - shmctl/semctl/msgctl IPC_INFO fill struct shminfo / seminfo / msginfo
//     for `ipcs -l`;
//   - SHM_STAT/SEM_STAT/MSG_STAT take an index and return the object's id.
// An implementation may answer those reading commands by the core's numbers
// instead (the *ctl_reply entries): then the commands use only them to read,
// whatever the C library's command set (DragonFly's has none of the above).
#ifndef SYSV_TOOLS_IPC_API_H_
#define SYSV_TOOLS_IPC_API_H_

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/types.h>

#include "core/protocol/wire.h"

namespace sysv::tools {

struct IpcApi {
  int (*shmget)(key_t key, size_t size, int shmflg);
  void* (*shmat)(int shmid, const void* shmaddr, int shmflg);
  int (*shmdt)(const void* shmaddr);
  int (*shmctl)(int shmid, int cmd, struct shmid_ds* buf);
  // The fourth argument, when the command takes one, is a union semun passed
  // by value (see SemctlArg in ipc_objects.h).
  int (*semget)(key_t key, int nsems, int semflg);
  int (*semctl)(int semid, int semnum, int cmd, ...);
  int (*msgget)(key_t key, int msgflg);
  int (*msgctl)(int msqid, int cmd, struct msqid_ds* buf);
  // Optional (nullptr: read through the calls above). The reading commands
  // (IPC_STAT, *_STAT, *_STAT_ANY, IPC_INFO, *_INFO; GETVAL, GETPID,
  // GETNCNT, GETZCNT) by the core's numbers (core/ipc/ipc_constants.h),
  // answered with the protocol's replies: what the command returns, -1 and
  // errno on failure. libsysv's are compat/core_ctl.h's.
  int (*shmctl_reply)(int shmid, int core_cmd, core::wire::ShmCtlReply* reply);
  int (*semctl_reply)(int semid, int semnum, int core_cmd, core::wire::SemCtlReply* reply);
  int (*msgctl_reply)(int msqid, int core_cmd, core::wire::MsgCtlReply* reply);
};

// The C library's functions. In a process that libsysv.so is LD_PRELOADed
// into, these resolve to libsysv's interposed symbols, as they would for the
// util-linux binaries themselves.
const IpcApi& KernelIpcApi();

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_IPC_API_H_
