// The message queue requests: msgget, the first access to a queue, and
// every msgctl command; plus the exit-time cleanup for dead clients.
#ifndef SYSV_DAEMON_MSG_SERVICE_H_
#define SYSV_DAEMON_MSG_SERVICE_H_

#include <cstdint>
#include <vector>

#include "core/ipc/ipc_registry.h"
#include "core/ipc/limits.h"
#include "core/msg/msg_registry.h"
#include "core/protocol/wire.h"
#include "daemon/msg_store.h"
#include "daemon/pending_exits.h"
#include "daemon/reply.h"

namespace sysv::daemon {

class MsgService {
 public:
  MsgService(core::ObjectTable table, const core::NamespaceLimits& limits, core::UserQuota* quota, int msg_dir_fd);

  Reply Get(uint32_t request_id, const core::wire::MsgGetRequest& request, const core::OpContext& ctx);
  Reply Open(uint32_t request_id, const core::wire::MsgOpenRequest& request, const core::OpContext& ctx);
  Reply Ctl(uint32_t request_id, const core::wire::MsgCtlRequest& request, const core::OpContext& ctx);

  // Drops a dead process's waiter records from every queue that has any
  // (a message handed to it and not taken goes back to the queue). A queue
  // whose lock is busy is left to RetryPendingExits().
  void ProcessExited(int32_t pid);
  // Repairs the regions whose mappings faulted (a client cut their files
  // short under the daemon): see the store's RepairFaulted().
  void RepairFaulted() { store_.RepairFaulted(); }
  // One background pass over the cleanup that found a queue's lock busy
  // (daemon/pending_exits.h), run by the server's retry timer, never in
  // front of a request. Returns whether any of it was done.
  bool RetryPendingExits();
  bool HasPendingExits() const { return !pending_exits_.empty(); }

  // A client changed region file `name` through its descriptor
  // (platform::FileChangeWatch): see the store's Trim().
  void TakeBack(const std::string& name) { store_.Trim(name); }
  int dir_fd() const { return store_.dir_fd(); }

  // The id registry, whose *MNI limit and next id the sysctls set
  // (daemon/sysctl_service.h).
  core::IpcRegistry& ids() { return ids_; }

 private:
  void ExitOnQueue(int32_t pid, int32_t index, uint32_t seq, core::MsgQueue& queue);

  PendingExits pending_exits_;
  MsgStore store_;
  core::IpcRegistry ids_;
  core::MsgRegistry registry_;
};

}  // namespace sysv::daemon

#endif  // SYSV_DAEMON_MSG_SERVICE_H_
