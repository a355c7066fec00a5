// Namespace limits, with the Linux kernel's defaults (include/uapi/linux/shm.h,
// sem.h, msg.h). The daemon's configuration may change any of them.
#ifndef SYSV_CORE_IPC_LIMITS_H_
#define SYSV_CORE_IPC_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "core/ipc/ipc_id.h"

namespace sysv::core {

struct ShmLimits {
  uint64_t shmmax = UINT64_MAX - (uint64_t{1} << 24);  // bytes per segment
  uint64_t shmmin = 1;
  uint64_t shmall = UINT64_MAX - (uint64_t{1} << 24);  // pages in all segments
  int32_t shmmni = 4096;                               // segments
};

struct SemLimits {
  int32_t semmsl = 32000;       // semaphores per set
  int32_t semmns = 1024000000;  // semaphores in all sets
  int32_t semopm = 500;         // operations per semop call
  int32_t semmni = 32000;       // sets
  int32_t semvmx = 32767;       // largest value
  int32_t semaem = 32767;       // largest undo adjustment
};

struct MsgLimits {
  int32_t msgmax = 8192;   // bytes per message
  int32_t msgmnb = 16384;  // default bytes per queue
  int32_t msgmni = 32000;  // queues
};

// Per-user quotas (core/ipc/user_quota.h), the daemon's own: Linux has
// none. 0 is unlimited, the default.
struct UserLimits {
  uint32_t objects = 0;  // objects of all kinds one creator may hold
  uint64_t bytes = 0;    // bytes of segments (shm_segsz) and queues (msg_qbytes)
  // Shares of the daemon's own resources (DESIGN.md, "Trust model" 5), so
  // that one user exhausting his leaves the others served. 0 is unlimited;
  // kShareOfConnections (the default) is a quarter of the daemon's
  // connection limit, which it derives from its RLIMIT_NOFILE at start
  // (ResolvedShare()).
  static constexpr uint32_t kShareOfConnections = UINT32_MAX;
  uint32_t connections = kShareOfConnections;  // open connections (channels)
  uint32_t processes = kShareOfConnections;    // registered process records
  // Wait-for-zero operations the daemon holds for one user's read-only
  // callers on one set (besides one per thread). Each takes room in the
  // set's arena, which the set's own users need too: 64 of the largest
  // (80 operations, 8 blocks each) take an eighth of it.
  uint32_t waits = 64;

  // `share` (connections or processes) as a number: 0 for unlimited.
  static uint32_t ResolvedShare(uint32_t share, int max_connections) {
    if (share != kShareOfConnections) return share;
    return max_connections >= 4 ? static_cast<uint32_t>(max_connections / 4) : 1;
  }
};

struct NamespaceLimits {
  ShmLimits shm;
  SemLimits sem;
  MsgLimits msg;
  UserLimits user;

  // The object tables hold at most IPCMNI objects of each kind.
  absl::Status Validate() const;
};

}  // namespace sysv::core

#endif  // SYSV_CORE_IPC_LIMITS_H_
