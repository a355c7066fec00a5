// The shared memory requests: decode is done, so this maps each request to
// core::ShmRegistry and encodes the answer.
#ifndef SYSV_DAEMON_SHM_SERVICE_H_
#define SYSV_DAEMON_SHM_SERVICE_H_

#include <memory>

#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/protocol/wire.h"
#include "core/shm/shm_registry.h"
#include "daemon/reply.h"
#include "daemon/shm_store.h"

namespace sysv::daemon {

class ShmService {
 public:
  ShmService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota,
             int shm_dir_fd, core::ShmRegistry::Census& census);

  Reply Get(uint32_t request_id, const core::wire::ShmGetRequest& request,
            const core::OpContext& ctx);
  Reply Attach(uint32_t request_id, const core::wire::ShmAttachRequest& request,
               const core::OpContext& ctx);
  // `memlock_limit`: the caller's RLIMIT_MEMLOCK as the daemon read it from
  // the kernel (SHM_LOCK); the request's own field is never believed.
  Reply Ctl(uint32_t request_id, const core::wire::ShmCtlRequest& request, uint64_t memlock_limit,
            const core::OpContext& ctx);

  Reply Sweep(uint32_t request_id, const core::wire::ShmSweepRequest& request);

  // A process's attachments ended (exit or exec): fold its ledger.
  void Absorb(const core::AttachLedger& ledger, int32_t pid, int64_t now_ns);
  // Removes segment files no table entry names. Run once at start.
  void RemoveOrphans();

 private:
  const core::NamespaceLimits& limits_;
  ShmStore store_;
  core::IpcRegistry ids_;
  core::ShmRegistry registry_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SHM_SERVICE_H_
