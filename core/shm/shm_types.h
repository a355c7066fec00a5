// Plain values that shmctl reports, independent of any OS's struct layout.
#ifndef SYSV_CORE_SHM_SHM_TYPES_H_
#define SYSV_CORE_SHM_SHM_TYPES_H_

#include <cstdint>

#include "core/ipc/ipc_perm.h"

namespace sysv::core {

// struct shmid_ds.
struct ShmStat {
  IpcPerm perm;
  uint64_t segsz = 0;
  int64_t atime = 0;
  int64_t dtime = 0;
  int64_t ctime = 0;
  int32_t cpid = 0;
  int32_t lpid = 0;
  uint64_t nattch = 0;
};

// struct shminfo (IPC_INFO).
struct ShmIpcInfo {
  uint64_t shmmax = 0;
  uint64_t shmmin = 0;
  uint64_t shmmni = 0;
  uint64_t shmseg = 0;
  uint64_t shmall = 0;
};

// struct shm_info (SHM_INFO).
struct ShmUsage {
  int32_t used_ids = 0;
  uint64_t shm_tot = 0;  // pages in all segments
  uint64_t shm_rss = 0;  // pages resident
  uint64_t shm_swp = 0;  // pages swapped
  uint64_t swap_attempts = 0;
  uint64_t swap_successes = 0;
};

// What one shmctl call returns: its return value and, per command, one of
// the structures above.
struct ShmCtlResult {
  int32_t value = 0;
  ShmStat stat;
  ShmIpcInfo ipc_info;
  ShmUsage usage;
};

// IPC_SET's input: the fields of shmid_ds.shm_perm it reads.
struct ShmSetArgs {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_SHM_SHM_TYPES_H_
