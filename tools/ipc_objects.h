// Reading IPC objects and limits through an IpcApi, as util-linux's
// sys-utils/ipcutils.c does when /proc/sysvipc is missing.
//
// Enumeration (mirrors ipc_shm_get_info() and friends, fallback path):
//   maxidx = shmctl(0, SHM_INFO, ...), then shmctl(i, SHM_STAT, ...) for
//   every index i in 0..maxidx; an index that fails (free slot, removed
//   meanwhile) is skipped. SHM_STAT returns the object's id. With an id to
//   look for, the walk stops at the first object with that id; a negative id
//   means "all" (so `ipcs -m -i -1` shows the first object, as util-linux
//   does).
//
// Deliberate differences from that fallback, to print what util-linux
// prints on Linux, where it reads /proc/sysvipc instead:
//   - An object the caller may not read (SHM_STAT fails with EACCES) is read
//     with SHM_STAT_ANY (SEM_STAT_ANY, MSG_STAT_ANY) instead of skipped:
//     /proc lists it. An implementation without *_STAT_ANY (EINVAL) gets
//     the fallback's behaviour.
//   - util-linux's fallback copies cuid into cgid for shared memory and
//     semaphores (a slip in ipcutils.c, still in master); /proc has the real
//     cgid, and so do we.
//
// Limits (mirrors ipc_shm_get_limits() and friends) come from IPC_INFO; on
// Linux util-linux reads /proc/sys/kernel/{shm*,msg*,sem} first, which holds
// the same values for the caller's IPC namespace.
//
// Commands are named here by the core's numbers. An IpcApi with *ctl_reply
// entries (libsysv's) is read through them, by those numbers, so listing
// does not depend on the C library's command set: the same code lists on
// glibc and on DragonFly, whose C library has no *_INFO, SHM_STAT, MSG_STAT
// or *_STAT_ANY. Otherwise (the kernel) commands are passed as the C library
// compiled against numbers them (backends/ipc_abi.h), and one it does not
// have fails as its kernel would, with EINVAL, without a call.
#ifndef SYSV_TOOLS_IPC_OBJECTS_H_
#define SYSV_TOOLS_IPC_OBJECTS_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "core/protocol/wire.h"
#include "tools/ipc_api.h"

namespace sysv::tools {

// union semun, which the caller must define (semctl(2)). Passed by value as
// semctl's fourth argument.
union SemctlArg {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  void* info;  // IPC_INFO, SEM_INFO: the C library's struct seminfo
};

// shmctl, semctl and msgctl of the core's command `core_cmd`, through the C
// library's number for it; -1 with errno EINVAL where it has none.
int ShmctlCore(const IpcApi& api, int shmid, int core_cmd, void* buf);
int SemctlCore(const IpcApi& api, int semid, int semnum, int core_cmd, SemctlArg arg);
int MsgctlCore(const IpcApi& api, int msqid, int core_cmd, void* buf);

// The counts of SHM_INFO / SEM_INFO / MSG_INFO, as the protocol carries them
// (the fields have the C structs' names: used_ids, shm_tot, ...; semusz,
// semaem; msgpool, msgmap, msgtql).
using ShmUsage = core::wire::ShmCtlReply;
using SemUsage = core::wire::SemCtlReply;
using MsgUsage = core::wire::MsgCtlReply;

// One reading command by the core's number (IPC_STAT, *_STAT, *_STAT_ANY,
// IPC_INFO, *_INFO; for sets also GETVAL, GETPID, GETNCNT, GETZCNT) as the
// protocol's reply: through the api's *ctl_reply entry where it has one,
// else through the C call, its struct or info bytes decoded into the reply.
// What the command returns (id, highest index, value); -1 and errno.
int ShmRead(const IpcApi& api, int shmid, int core_cmd, ShmUsage* reply);
int SemRead(const IpcApi& api, int semid, int semnum, int core_cmd, SemUsage* reply);
int MsgRead(const IpcApi& api, int msqid, int core_cmd, MsgUsage* reply);

struct IpcOwnership {
  int id = 0;
  key_t key = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  uid_t cuid = 0;
  gid_t cgid = 0;
  unsigned mode = 0;  // Including SHM_DEST and SHM_LOCKED for segments.
};

struct ShmSegment {
  IpcOwnership perm;
  uint64_t nattch = 0;
  uint64_t segsz = 0;
  int64_t atime = 0;
  int64_t dtime = 0;
  int64_t ctime = 0;
  pid_t cpid = 0;
  pid_t lpid = 0;
};

struct SemElement {
  int value = 0;
  int ncount = 0;  // Tasks waiting for the value to increase.
  int zcount = 0;  // Tasks waiting for it to become zero.
  pid_t pid = 0;   // Last task that operated on it.
};

struct SemSet {
  IpcOwnership perm;
  int64_t otime = 0;
  int64_t ctime = 0;
  uint64_t nsems = 0;
  // Filled only when looking up one id (as util-linux does).
  std::vector<SemElement> elements;
};

struct MsgQueue {
  IpcOwnership perm;
  int64_t stime = 0;
  int64_t rtime = 0;
  int64_t ctime = 0;
  uint64_t cbytes = 0;
  uint64_t qnum = 0;
  uint64_t qbytes = 0;
  pid_t lspid = 0;
  pid_t lrpid = 0;
  // False when only MSG_STAT_ANY could read it. util-linux then cannot read
  // qbytes either (its IPC_STAT fails) and shows 0 for it in `ipcs -q -i`.
  bool readable = true;
};

// The objects with index 0..max, in index order; `id` >= 0 selects at most
// the first object with that id.
std::vector<ShmSegment> ListShmSegments(const IpcApi& api, int id);
std::vector<MsgQueue> ListMsgQueues(const IpcApi& api, int id);

struct SemListing {
  std::vector<SemSet> sets;
  // When reading one set's values failed: the call ("semctl(GETVAL)") and
  // its errno. util-linux exits with "<call> failed: <strerror>".
  const char* failed_call = nullptr;
  int failed_errno = 0;
};
SemListing ListSemSets(const IpcApi& api, int id);

// util-linux's struct ipc_limits, one part per facility.
struct ShmLimits {
  uint64_t shmmni = 0;  // Max number of segments.
  uint64_t shmmax = 0;  // Max segment size, bytes.
  uint64_t shmall = 0;  // Max total shared memory, pages.
  uint64_t shmmin = 1;  // Min segment size (SHMMIN, a constant).
};
struct SemLimits {
  int semmni = 0;         // Max number of arrays.
  int semmsl = 0;         // Max semaphores per array.
  int semmns = 0;         // Max semaphores system wide.
  int semopm = 0;         // Max ops per semop call.
  unsigned semvmx = 32767;  // SEMVMX, a constant.
};
struct MsgLimits {
  int msgmni = 0;       // Max queues system wide.
  uint64_t msgmax = 0;  // Max size of a message.
  int msgmnb = 0;       // Default max size of a queue.
};

// IPC_INFO; nullopt when the call fails.
std::optional<ShmLimits> GetShmLimits(const IpcApi& api);
std::optional<SemLimits> GetSemLimits(const IpcApi& api);
std::optional<MsgLimits> GetMsgLimits(const IpcApi& api);

// SHM_INFO / SEM_INFO / MSG_INFO, for `ipcs -u`; nullopt when the call fails.
std::optional<ShmUsage> GetShmInfo(const IpcApi& api);
std::optional<SemUsage> GetSemInfo(const IpcApi& api);
std::optional<MsgUsage> GetMsgInfo(const IpcApi& api);

// The highest index in use (the *_INFO result), or -1 and errno.
int ShmMaxIndex(const IpcApi& api);
int SemMaxIndex(const IpcApi& api);
int MsgMaxIndex(const IpcApi& api);

}  // namespace sysv::tools

#endif  // SYSV_TOOLS_IPC_OBJECTS_H_
