// The /proc/sys/kernel SysV entries of the namespace (issue #15): reads and
// writes of shmmax, shmall, shmmni, sem, msgmax, msgmnb, msgmni and the
// three *_next_id, decoded here and judged by core/ipc/sysctl.h.
//
// A write takes effect for the next request of anyone, as the kernel's
// does: the services read the namespace's limits at every request, the *MNI
// limits and next ids live in the id registries (set here), and the two
// limits that clients check themselves (SEMOPM, MSGMAX) are rewritten in
// the mapped table headers they read them from.
//
// Written values last as long as this daemon: at start the configuration
// (daemon/config.h) sets every limit, as sysctl.conf does at boot, and no
// next id is set.
#ifndef SYSV_DAEMON_SYSCTL_SERVICE_H_
#define SYSV_DAEMON_SYSCTL_SERVICE_H_

#include <cstdint>

#include "core/ipc/credentials.h"
#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/ipc/sysctl.h"
#include "core/ipc/user_quota.h"
#include "core/protocol/wire.h"
#include "daemon/reply.h"

namespace sysv::daemon {

class SysctlService {
 public:
  // `limits`: the namespace's, which the services read (not owned, outlives
  // this); `shm`, `sem`, `msg`: the id registries of the three kinds;
  // `quota`: charges a new queue MSGMNB bytes (may be null).
  SysctlService(core::NamespaceLimits& limits, core::IpcRegistry& shm, core::IpcRegistry& sem,
                core::IpcRegistry& msg, core::UserQuota* quota);

  // Every reply carries the file's content after the request. Errors: EINVAL
  // (a malformed request), EACCES (the caller may not write the file, from
  // the credentials the kernel gave the daemon), and a write's own.
  Reply Handle(uint32_t request_id, const core::wire::SysctlRequest& request, const core::Credentials& creds);

 private:
  core::NextIds NextIds() const;
  // Makes the registries and table headers follow `limits_` and `next`.
  void Apply(const core::NextIds& next);

  core::NamespaceLimits& limits_;
  core::IpcRegistry& shm_;
  core::IpcRegistry& sem_;
  core::IpcRegistry& msg_;
  core::UserQuota* quota_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_SYSCTL_SERVICE_H_
